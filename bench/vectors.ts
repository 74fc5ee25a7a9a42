import "./quiet-env";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import { ChromaVectorIndex } from "../functions/adapters/chroma/chroma-vector-index";
import { OpenSearchVectorIndex } from "../functions/adapters/opensearch/opensearch-vector-index";
import type { LegHit, SearchFilters, StoredMessage } from "../functions/core/model";
import type { VectorCollection } from "../functions/core/ports";
import { exactNearest } from "../functions/core/search/exact-nearest";
import {
  chromaClient,
  chromaQueryHttp,
  closeClients,
  openSearchVectorClient,
} from "../functions/shared/clients";
import { config } from "../functions/shared/config";
import { loadAverage, numberFlag, percentile, REPO_ROOT, round2, seededRandom, writeReport } from "./helpers";

/**
 * The growth curve of the two vector stores (issue #23): the same vectors loaded into Chroma and into
 * the OpenSearch k-NN node (`stack up --knn`) in growing steps; at each size, each store:
 * - the semantic leg's query latency (p50/p95) at 1 and 8 concurrent queries, unfiltered and with a
 *   filter that keeps 1% of the vectors, each as the leg runs it: OpenSearch filters inside the k-NN
 *   query; Chroma, for a filter this selective, searches among the matching ids PostgreSQL hands it
 *   (filtered-vector-search.ts; the PostgreSQL lookup itself is not timed here);
 * - recall@10 of those answers against an exact cosine scan;
 * - the upsert rate of the step's load (the adapters' upsert, batches of 500, one at a time);
 * - the resident memory (VmRSS) of the store's server process.
 *
 * Vectors: all-MiniLM-L6-v2 embeddings from the bench cache (<CACHE_DIR>/bench/embeddings, written by
 * bench/search.ts) when enough are there, else synthetic: the cached ones with noise, renormalised
 * (stated in the report). Queries are held-out cached vectors with noise. The model never runs.
 *
 *   npx tsx bench/vectors.ts [--sizes 10000,50000,100000] [--queries 200] [--stores chroma,opensearch] [--merge]
 *
 * --merge force-merges the k-NN index to one segment after each load step: Lucene searches each
 * segment's graph in turn, so a freshly bulk-loaded index (many small segments) is slower than one
 * the background merges have caught up with.
 */
const DIM = 384;
const LIMIT = 10;
/** The leg window search asks for (max(3 x limit, 50)). */
const WINDOW = 50;
const BATCH = 500;
/** Channels: one of 100 holds 1% of the vectors. */
const CHANNELS = 100;
const FILTER: SearchFilters = { channels: ["c7"] };

function sizesFlag(args: readonly string[]): number[] {
  const i = args.indexOf("--sizes");
  if (i === -1) return [10_000, 50_000, 100_000];
  return String(args[i + 1])
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
}

/** Every complete cached embedding chunk of dimension 384 (the largest cache entry first). */
function cachedVectors(cacheDir: string): Float32Array {
  const root = join(cacheDir, "bench", "embeddings");
  if (!existsSync(root)) return new Float32Array(0);
  const dirs = readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => statSync(d).isDirectory());
  const parts: Float32Array[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((n) => /^chunk-\d+\.f32$/.test(n))) {
      const buf = readFileSync(join(dir, f));
      if (buf.byteLength % (DIM * 4) !== 0) continue;
      parts.push(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) v[i]! *= s;
  return v;
}

/** Vector i of the corpus: a cached embedding, or (past the cache) one with noise, renormalised. */
function corpusVectors(
  pool: Float32Array,
  count: number,
  rand: () => number,
): { vectors: Float32Array; real: number } {
  const available = Math.floor(pool.length / DIM);
  const out = new Float32Array(count * DIM);
  const real = Math.min(count, available);
  out.set(pool.subarray(0, real * DIM));
  for (let i = real; i < count; i++) {
    const base = available > 0 ? Math.floor(rand() * available) : -1;
    const v = new Float32Array(DIM);
    for (let k = 0; k < DIM; k++) {
      const gauss = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
      v[k] = (base >= 0 ? pool[base * DIM + k]! : 0) + gauss * (base >= 0 ? 0.03 : 1);
    }
    out.set(normalise(v), i * DIM);
  }
  return { vectors: out, real };
}

function message(id: number): StoredMessage {
  return {
    id,
    sourceId: 1,
    source: { type: "bench", name: "bench" },
    externalId: `v-${id}`,
    channel: `c${id % CHANNELS}`,
    author: `u${id % 37}`,
    content: "",
    timestamp: new Date(Date.UTC(2025, 0, 1) + id * 60_000),
    threadId: null,
    metadata: {},
    embeddingId: `msg_${id}`,
    version: 1,
    contentHash: "",
    deletedAt: null,
  };
}

/** The pid listening on a TCP port (ss), for its VmRSS. */
function pidOnPort(port: number): number | undefined {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function rssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round2(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

interface Store {
  readonly name: "chroma" | "opensearch";
  readonly index: VectorCollection;
  readonly pid: number | undefined;
  /** The semantic leg's query for the 1% filter, as search runs it with this store. */
  filtered(q: number[], matching: readonly number[]): Promise<LegHit[]>;
}

async function timed(
  queries: readonly number[][],
  concurrency: number,
  run: (q: number[]) => Promise<LegHit[]>,
): Promise<{ ms: number[]; answers: LegHit[][] }> {
  const ms = new Array<number>(queries.length);
  const answers = new Array<LegHit[]>(queries.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= queries.length) return;
        const t = performance.now();
        answers[i] = await run(queries[i]!);
        ms[i] = performance.now() - t;
      }
    }),
  );
  return { ms, answers };
}

function recallAt10(answers: readonly LegHit[][], exact: readonly LegHit[][]): number {
  let hit = 0;
  let total = 0;
  answers.forEach((a, i) => {
    const want = new Set(exact[i]!.slice(0, LIMIT).map((h) => h.messageId));
    total += want.size;
    for (const h of a.slice(0, LIMIT)) if (want.has(h.messageId)) hit++;
  });
  return total === 0 ? 1 : round2(hit / total);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizes = sizesFlag(args);
  const queryCount = numberFlag(args, "queries", 200);
  const merge = args.includes("--merge");
  const storesFlag = args.indexOf("--stores");
  const wanted = new Set(
    storesFlag === -1 ? ["chroma", "opensearch"] : String(args[storesFlag + 1]).split(","),
  );
  const cfg = config();
  const cacheDir = cfg.CACHE_DIR.startsWith("/") ? cfg.CACHE_DIR : join(REPO_ROOT, cfg.CACHE_DIR);
  const rand = seededRandom(23);
  const pool = cachedVectors(cacheDir);
  const max = sizes.at(-1)!;
  // Queries: the pool's last vectors with noise, kept out of the corpus when the pool is large enough.
  const poolCount = Math.floor(pool.length / DIM);
  const heldOut = Math.min(queryCount, Math.max(0, poolCount - max));
  const corpusPool = pool.subarray(0, (poolCount - heldOut) * DIM);
  const { vectors, real } = corpusVectors(corpusPool, max, rand);
  const queries: number[][] = [];
  for (let i = 0; i < queryCount; i++) {
    const src =
      i < heldOut
        ? pool.subarray((poolCount - heldOut + i) * DIM, (poolCount - heldOut + i + 1) * DIM)
        : null;
    const base =
      src ?? vectors.subarray(Math.floor(rand() * max) * DIM, (Math.floor(rand() * max) + 1) * DIM);
    const v = new Float32Array(DIM);
    for (let k = 0; k < DIM; k++) v[k] = base[k]! + (rand() - 0.5) * 0.05;
    queries.push(Array.from(normalise(v)));
  }
  console.log(
    `vectors: ${real} cached embeddings, ${max - real} synthetic; ${queryCount} queries (${heldOut} held out)`,
  );

  const suffix = randomBytes(3).toString("hex");
  const chroma = new ChromaVectorIndex(chromaClient(cfg), `bench-vectors-${suffix}`, {
    modelId: "bench-384",
    dimension: DIM,
    queryHttp: chromaQueryHttp(cfg),
  });
  const opensearch = new OpenSearchVectorIndex(openSearchVectorClient(cfg), `bench-vectors-${suffix}`, {
    modelId: "bench-384",
    dimension: DIM,
  });
  const allStores: Store[] = [
    {
      name: "chroma",
      index: chroma,
      pid: pidOnPort(Number(new URL(cfg.CHROMA_URL).port || 80)),
      filtered: (q, matching) => chroma.queryAmong(q, matching, WINDOW),
    },
    {
      name: "opensearch",
      index: opensearch,
      pid: pidOnPort(Number(new URL(cfg.OPENSEARCH_VECTOR_URL).port || 80)),
      filtered: (q) => opensearch.query(q, FILTER, WINDOW),
    },
  ];
  const stores = allStores.filter((s) => wanted.has(s.name));
  const rows: Record<string, unknown>[] = [];
  const baseline = Object.fromEntries(stores.map((s) => [s.name, rssMiB(s.pid)]));
  try {
    for (const s of stores) await s.index.ensureCollection();
    let loaded = 0;
    for (const size of sizes) {
      const vec = (i: number) => Array.from(vectors.subarray(i * DIM, (i + 1) * DIM));
      const matching: number[] = [];
      for (let id = 1; id <= size; id++) if (id % CHANNELS === 7) matching.push(id);
      // Exact answers (cosine scan) for recall: unfiltered and among the 1%.
      const all = Array.from({ length: size }, (_, i) => ({
        messageId: i + 1,
        vector: vectors.subarray(i * DIM, (i + 1) * DIM),
      }));
      const few = matching.map((id) => all[id - 1]!);
      const exact = queries.map((q) => exactNearest(q, all, LIMIT));
      const exactFiltered = queries.map((q) => exactNearest(q, few, LIMIT));
      for (const s of stores) {
        const t = performance.now();
        for (let from = loaded; from < size; from += BATCH) {
          const batch: { message: StoredMessage; embedding: number[] }[] = [];
          for (let i = from; i < Math.min(size, from + BATCH); i++)
            batch.push({ message: message(i + 1), embedding: vec(i) });
          await s.index.upsert(batch);
        }
        const loadSeconds = (performance.now() - t) / 1000;
        if (s.index instanceof OpenSearchVectorIndex) {
          const os = openSearchVectorClient(cfg);
          await os.indices.refresh({ index: s.index.collectionName });
          if (merge) {
            await os.indices.forcemerge({ index: s.index.collectionName, max_num_segments: 1 });
            // The merged segment is searched once a refresh opens it.
            await os.indices.refresh({ index: s.index.collectionName });
          }
        }
        const segments =
          s.index instanceof OpenSearchVectorIndex
            ? (
                (
                  await openSearchVectorClient(cfg).cat.segments({
                    index: s.index.collectionName,
                    format: "json",
                  })
                ).body as unknown[]
              ).length
            : null;
        const count = await s.index.count();
        if (count !== size) throw new Error(`${s.name} holds ${count} of ${size} vectors`);
        // Warm-up: the first queries after a load pay for caches (and OpenSearch for its searcher).
        await timed(queries.slice(0, 20), 1, (q) => s.index.query(q, {}, WINDOW));
        await timed(queries.slice(0, 20), 1, (q) => s.filtered(q, matching));
        const cell: Record<string, unknown> = {
          store: s.name,
          size,
          upsertPerSecond: Math.round((size - loaded) / loadSeconds),
          rssMiB: rssMiB(s.pid),
          rssBeforeMiB: baseline[s.name],
          ...(segments !== null ? { segments, merged: merge } : {}),
        };
        for (const c of [1, 8]) {
          const unf = await timed(queries, c, (q) => s.index.query(q, {}, WINDOW));
          const fil = await timed(queries, c, (q) => s.filtered(q, matching));
          cell[`c${c}`] = {
            unfiltered: {
              p50: round2(percentile(unf.ms, 50)),
              p95: round2(percentile(unf.ms, 95)),
              recall10: recallAt10(unf.answers, exact),
            },
            filtered1pct: {
              p50: round2(percentile(fil.ms, 50)),
              p95: round2(percentile(fil.ms, 95)),
              recall10: recallAt10(fil.answers, exactFiltered),
            },
          };
        }
        console.log(JSON.stringify(cell));
        rows.push(cell);
      }
      loaded = size;
    }
  } finally {
    for (const s of stores) await s.index.deleteCollection().catch(() => undefined);
  }
  const report = {
    bench: "vectors",
    at: new Date().toISOString(),
    machine: { host: hostname(), cpus: cpus().length },
    loadAverage: loadAverage(),
    vectors: {
      dimension: DIM,
      cached: real,
      synthetic: max - real,
      queries: queryCount,
      heldOutQueries: heldOut,
    },
    leg: { limit: LIMIT, window: WINDOW, filter: "channel = one of 100 (1%)", batch: BATCH },
    opensearch: {
      engine: "lucene",
      space: "cosinesimil",
      m: 16,
      efConstruction: 100,
      minCandidates: 100,
      heap: "512m",
    },
    rows,
  };
  const name =
    merge || wanted.size < 2 ? `vectors-${[...wanted].join("-")}${merge ? "-merged" : ""}` : "vectors";
  console.log(`report: ${await writeReport(name, report)}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => closeClients());
