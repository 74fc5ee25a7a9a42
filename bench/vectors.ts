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
import {
  chromaClient,
  chromaQueryHttp,
  closeClients,
  openSearchVectorClient,
} from "../functions/shared/clients";
import { config } from "../functions/shared/config";
import {
  BENCH_DIR,
  loadAverage,
  numberFlag,
  percentile,
  REPO_ROOT,
  round2,
  seededRandom,
  writeReport,
} from "./helpers";

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
 * bench/search.ts) when enough are there, else synthetic past them: a random cached one plus gaussian
 * noise (sigma 0.03 per dimension), renormalised, i.e. a unit vector at cosine ~0.86 from a real
 * embedding (the report counts them). Queries are held-out cached vectors with noise, never in the
 * corpus when the cache has more vectors than queries. The model never runs. Recall@10 is measured
 * against an exact cosine scan of the same vectors at every size.
 *
 *   npx tsx bench/vectors.ts [--sizes 10000,50000,100000] [--queries 200] [--stores chroma,opensearch]
 *     [--merge] [--parallel-load] [--append]
 *
 * --merge force-merges the k-NN index to one segment after each load step: Lucene searches each
 * segment's graph in turn, so a freshly bulk-loaded index (many small segments) is slower than one
 * the background merges have caught up with.
 * --parallel-load loads every store at once (each still one batch at a time), then measures them one
 * after the other: for 1M vectors on a shared machine; each upsert rate is then under the other's load.
 * --append adds the rows to the existing report of the same name (replacing rows of the same store and size) instead
 * of writing a new one; the rows carry their own run (time, load average, vectors, heap).
 * For 1M vectors, run the stores privately (bench/private-vector-stores.ts) so the shared ones stay small.
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

/**
 * The exact top LIMIT by cosine among vectors [0, size) of the flat array (or among `among`, 1-based
 * ids), ties by id: what exactNearest answers, without an object per vector (1M x 200 queries).
 */
function exactTop(
  query: readonly number[],
  vectors: Float32Array,
  size: number,
  among: readonly number[] | null,
): LegHit[] {
  const q = Float32Array.from(query);
  const top: LegHit[] = [];
  const n = among ? among.length : size;
  for (let j = 0; j < n; j++) {
    const id = among ? among[j]! : j + 1;
    const at = (id - 1) * DIM;
    let dot = 0;
    let norm = 0;
    for (let k = 0; k < DIM; k++) {
      const x = vectors[at + k]!;
      dot += q[k]! * x;
      norm += x * x;
    }
    const score = norm > 0 ? dot / Math.sqrt(norm) : 0;
    if (top.length === LIMIT && score <= top[LIMIT - 1]!.score) continue;
    let i = top.length === LIMIT ? LIMIT - 1 : top.length;
    while (i > 0 && top[i - 1]!.score < score) i--;
    top.splice(i, 0, { messageId: id, score });
    if (top.length > LIMIT) top.pop();
  }
  return top;
}

/** The k-NN node's JVM heap (max), as "2g" / "512m". */
async function opensearchHeap(url: string): Promise<string | null> {
  try {
    const res = await fetch(new URL("_nodes/stats/jvm", url), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as {
      nodes?: Record<string, { jvm?: { mem?: { heap_max_in_bytes?: number } } }>;
    };
    const bytes = Object.values(body.nodes ?? {})[0]?.jvm?.mem?.heap_max_in_bytes;
    if (!bytes) return null;
    const mib = Math.round(bytes / 2 ** 20);
    return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
  } catch {
    return null;
  }
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
  const parallelLoad = args.includes("--parallel-load");
  const progress = parallelLoad || sizes.at(-1)! > 100_000;
  const startLoad = loadAverage();
  const storesFlag = args.indexOf("--stores");
  const wanted = new Set(
    storesFlag === -1 ? ["chroma", "opensearch"] : String(args[storesFlag + 1]).split(","),
  );
  // vectors.json for both stores as loaded; vectors-<stores>[-merged].json otherwise.
  const name =
    merge || wanted.size < 2 ? `vectors-${[...wanted].join("-")}${merge ? "-merged" : ""}` : "vectors";
  const appendTo = args.includes("--append") ? name : null;
  const cfg = config();
  const cacheDir = cfg.CACHE_DIR.startsWith("/") ? cfg.CACHE_DIR : join(REPO_ROOT, cfg.CACHE_DIR);
  const rand = seededRandom(23);
  const pool = cachedVectors(cacheDir);
  const max = sizes.at(-1)!;
  // Queries: the pool's last vectors with noise, kept out of the corpus when the pool is large enough
  // (past the pool the corpus is synthetic anyway, so the queries are still held out).
  const poolCount = Math.floor(pool.length / DIM);
  const heldOut = Math.min(
    queryCount,
    Math.max(0, poolCount > max ? poolCount - max : poolCount - queryCount),
  );
  const corpusPool = pool.subarray(0, (poolCount - heldOut) * DIM);
  const { vectors, real } = corpusVectors(corpusPool, max, rand);
  const queries: number[][] = [];
  for (let i = 0; i < queryCount; i++) {
    const src =
      i < heldOut
        ? pool.subarray((poolCount - heldOut + i) * DIM, (poolCount - heldOut + i + 1) * DIM)
        : null;
    const at = Math.floor(rand() * max) * DIM;
    const base = src ?? vectors.subarray(at, at + DIM);
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
  const heap = wanted.has("opensearch") ? await opensearchHeap(cfg.OPENSEARCH_VECTOR_URL) : null;
  const rows: Record<string, unknown>[] = [];
  const baseline = Object.fromEntries(stores.map((s) => [s.name, rssMiB(s.pid)]));
  const vec = (i: number) => Array.from(vectors.subarray(i * DIM, (i + 1) * DIM));
  /** Loads vectors [from, size) into a store; its seconds and the store's peak VmRSS meanwhile. */
  const load = async (s: Store, from: number, size: number) => {
    let peak = rssMiB(s.pid) ?? 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(s.pid) ?? 0);
    }, 2000);
    const t = performance.now();
    try {
      for (let at = from; at < size; at += BATCH) {
        const batch: { message: StoredMessage; embedding: number[] }[] = [];
        for (let i = at; i < Math.min(size, at + BATCH); i++)
          batch.push({ message: message(i + 1), embedding: vec(i) });
        await s.index.upsert(batch);
        if (progress && Math.floor((at + BATCH) / 50_000) > Math.floor(at / 50_000))
          console.log(
            `${s.name}: ${Math.min(size, at + BATCH)} loaded, ${round2((performance.now() - t) / 1000)} s`,
          );
      }
    } finally {
      clearInterval(sampler);
    }
    return {
      seconds: (performance.now() - t) / 1000,
      peakRssMiB: round2(Math.max(peak, rssMiB(s.pid) ?? 0)),
    };
  };
  try {
    for (const s of stores) await s.index.ensureCollection();
    let loaded = 0;
    for (const size of sizes) {
      const matching: number[] = [];
      for (let id = 1; id <= size; id++) if (id % CHANNELS === 7) matching.push(id);
      // Exact answers (cosine scan) for recall: unfiltered and among the 1%.
      const t0 = performance.now();
      const exact = queries.map((q) => exactTop(q, vectors, size, null));
      const exactFiltered = queries.map((q) => exactTop(q, vectors, size, matching));
      if (progress) console.log(`exact answers for ${size}: ${round2((performance.now() - t0) / 1000)} s`);
      const parallel = parallelLoad ? await Promise.all(stores.map((s) => load(s, loaded, size))) : null;
      for (const [n, s] of stores.entries()) {
        const loadedAt = loadAverage();
        const { seconds: loadSeconds, peakRssMiB } = parallel?.[n] ?? (await load(s, loaded, size));
        if (s.index instanceof OpenSearchVectorIndex) {
          const os = openSearchVectorClient(cfg);
          await os.indices.refresh({ index: s.index.collectionName });
          if (merge) {
            // Merging 1M vectors into one graph takes many minutes: far past the client's request timeout.
            await os.indices.forcemerge(
              { index: s.index.collectionName, max_num_segments: 1 },
              { requestTimeout: 3 * 3_600_000 },
            );
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
          rssPeakDuringLoadMiB: peakRssMiB,
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
        if (appendTo) {
          // An appended row says which run measured it: the report's header describes another.
          cell.run = {
            at: new Date().toISOString(),
            loadAverageAtLoad: parallelLoad ? startLoad : loadedAt,
            loadAverage: loadAverage(),
            vectors: {
              cached: Math.min(real, size),
              synthetic: size - Math.min(real, size),
              queries: queryCount,
              heldOutQueries: heldOut,
            },
            freshLoad: loaded === 0,
            parallelLoad,
            ...(s.name === "opensearch" ? { heap } : {}),
            storeUrl: s.name === "chroma" ? cfg.CHROMA_URL : cfg.OPENSEARCH_VECTOR_URL,
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
  if (appendTo) {
    const path = join(BENCH_DIR, "reports", `${appendTo}.json`);
    const report = JSON.parse(readFileSync(path, "utf8")) as { rows: Record<string, unknown>[] };
    const key = (r: Record<string, unknown>) => `${String(r.store)}/${String(r.size)}`;
    const fresh = new Set(rows.map(key));
    report.rows = [...report.rows.filter((r) => !fresh.has(key(r))), ...rows].sort(
      (a, b) => Number(a.size) - Number(b.size) || String(a.store).localeCompare(String(b.store)),
    );
    console.log(`report: ${await writeReport(appendTo, report)}`);
    return;
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
      heap: heap ?? "512m",
    },
    rows,
  };
  console.log(`report: ${await writeReport(name, report)}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => closeClients());
