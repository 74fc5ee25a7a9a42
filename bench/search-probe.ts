import "./quiet-env";
import { readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { OnnxEmbedder } from "../functions/adapters/onnx/onnx-embedder";
import { PgMessageFilter } from "../functions/adapters/postgres/pg-message-filter";
import type { SearchStrategy } from "../functions/core/model";
import type { VectorCollection } from "../functions/core/ports";
import { exactNearest } from "../functions/core/search/exact-nearest";
import { DEFAULT_FILTERED_SEARCH } from "../functions/core/search/filtered-vector-search";
import { parseSearchRequest } from "../functions/core/search/search-request";
import { closeClients } from "../functions/shared/clients";
import { pgPool } from "../functions/shared/clients/pg";
import { loadConfig, setConfig } from "../functions/shared/config";
import { type Container, createContainer, setContainer } from "../functions/shared/container";
import { searchService } from "../functions/shared/search-service";
import { accessFor } from "../functions/shared/viewer";
import { numberFlag, REPO_ROOT, round2 } from "./helpers";
import { type CpuGroup, noCpu } from "./process-cpu";
import { BENCH_VIEWER, QUERIES, queryString, useViewerScope } from "./search";

/**
 * Where a search's CPU goes, query by query, in the namespace `bench/search.ts --keep` left:
 *   npx tsx bench/search-probe.ts [--reps 5] [--strategy hybrid] [--scope viewer|unscoped|both]
 *     [--margins 1.5,1.25]          A/B of the filtered leg's margin, alternating query by query
 *     [--k-curve [--k-ab 892,743 | --among | --among-r 800]]  the semantic leg's parts alone (kCurve)
 *     [--filtered maxCandidates=500,maxExact=12000]  the filtered leg's settings for this run
 *     [--cpu-profile FILE]          a V8 CPU profile of this process's measured queries only (after
 *                                   the warm-up, which fills caches and JIT), for Chrome DevTools
 * Runs each of the bench's queries `reps` times one at a time in this process (no HTTP) and prints
 * the CPU per query of this process, Chroma and PostgreSQL, with the semantic leg's path: the
 * candidates asked of the vector store, the ids checked in PostgreSQL, a search among ids. Sequential,
 * so it measures cost, not latency: a tuning tool, not a report.
 */

interface PathLog {
  knn: number[];
  among: number[];
  checked: number[];
  embeddedMatching: number;
}

const KEPT = join(REPO_ROOT, ".cache", "bench", "search-kept-namespace.json");

/**
 * CPU ms of this process, the shared Chroma server (port 8000; other Chroma servers on the machine
 * are not counted) and the PostgreSQL backends connected to this namespace's database: the same
 * groups as process-cpu.ts, without other engineers' processes on the shared machine.
 */
let pgPids: () => Promise<number[]> = async () => [];
let chromaPid: number | undefined;
function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}
function findChroma(): number | undefined {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("chromadb-js-bindings") && cmd.includes("8000")) return Number(pid);
    } catch {}
  }
  return undefined;
}
async function snapshot(): Promise<Record<CpuGroup, number>> {
  const out = noCpu();
  out.server = ticks(process.pid);
  chromaPid ??= findChroma();
  if (chromaPid) out.chroma = ticks(chromaPid);
  for (const pid of await pgPids()) out.postgres += ticks(pid);
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const reps = numberFlag(args, "reps", 5);
  const strategyArg = args[args.indexOf("--strategy") + 1];
  const strategy = (args.includes("--strategy") ? strategyArg : "hybrid") as SearchStrategy;
  const scopeArg = args.includes("--scope") ? args[args.indexOf("--scope") + 1] : "both";
  if (args.includes("--filtered")) {
    // Tuning: any of the filtered semantic leg's settings for this run only, e.g. margin=1.5 or maxExact=12000.
    for (const kv of args[args.indexOf("--filtered") + 1]!.split(",")) {
      const [key, value] = kv.split("=");
      if (!key || !(key in DEFAULT_FILTERED_SEARCH)) throw new Error(`--filtered: no setting ${key}`);
      (DEFAULT_FILTERED_SEARCH as unknown as Record<string, number>)[key] = Number(value);
    }
  }
  const kept = JSON.parse(await readFile(KEPT, "utf8")) as Record<string, unknown>;
  const { messages: _m, load: _l, ...names } = kept;
  const cfg = {
    ...loadConfig({ ...process.env, ...(names as Record<string, string>), LOG_LEVEL: "ERROR" }),
    SEARCH_ALLOW_UNSCOPED: true,
  };
  setConfig(cfg);
  const c = createContainer(cfg);
  setContainer(c);
  const dbName = new URL(cfg.DATABASE_URL).pathname.slice(1);
  const { Client } = (await import("pg")).default;
  const admin = new Client({ connectionString: cfg.DATABASE_URL });
  await admin.connect();
  pgPids = async () =>
    (
      await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [dbName],
      )
    ).rows.map((r) => r.pid);
  useViewerScope((await c.access.visibleConversations(BENCH_VIEWER)).map((v) => v.conversation));

  const log: PathLog = { knn: [], among: [], checked: [], embeddedMatching: 0 };
  const { index } = await c.collections.activeIndex();
  const inner = index as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of ["query", "queryAmong"] as const) {
    const original = inner[name]!.bind(index);
    inner[name] = (...a: unknown[]) => {
      if (name === "query") log.knn.push(a[2] as number);
      else log.among.push((a[1] as unknown[]).length);
      return original(...a);
    };
  }
  const filter = c.messageFilter as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const matching = filter.matching!.bind(c.messageFilter);
  filter.matching = (...a: unknown[]) => {
    log.checked.push((a[0] as unknown[]).length);
    return matching(...a);
  };
  const embedded = filter.embeddedMatching!.bind(c.messageFilter);
  filter.embeddedMatching = (...a: unknown[]) => {
    log.embeddedMatching++;
    return embedded(...a);
  };

  if (args.includes("--k-curve")) {
    await kCurve(c, index, reps);
    await OnnxEmbedder.closeAll();
    await closeClients();
    process.exit(0);
  }
  const search = searchService(c);
  const run = async (qs: string) => {
    const input = Object.fromEntries(
      [...new URLSearchParams(qs).keys()].map((k) => {
        const all = new URLSearchParams(qs).getAll(k);
        return [k, all.length > 1 ? all : all[0]];
      }),
    );
    const event = { requestContext: {} } as Parameters<typeof accessFor>[0];
    const req = parseSearchRequest(input, c.cursorKey, accessFor(event, cfg));
    return search(req);
  };

  if (args.includes("--margins")) {
    // A/B: the filtered leg's margin alternates query by query, so background load hits both alike.
    const margins = args[args.indexOf("--margins") + 1]!.split(",").map(Number);
    const viewer = scopeArg === "unscoped" ? undefined : BENCH_VIEWER;
    const settings = DEFAULT_FILTERED_SEARCH as { margin: number };
    for (const spec of QUERIES) await run(queryString(spec, strategy, viewer));
    const totals = margins.map(() => noCpu());
    const widened = margins.map(() => 0);
    for (let r = 0; r < reps; r++) {
      for (const spec of QUERIES) {
        const qs = queryString(spec, strategy, viewer);
        for (const [i, m] of margins.entries()) {
          settings.margin = m;
          log.knn = [];
          const before = await snapshot();
          await run(qs);
          const after = await snapshot();
          if (log.knn.length > 1) widened[i]!++;
          for (const g of Object.keys(before) as CpuGroup[]) totals[i]![g] += after[g] - before[g];
        }
      }
    }
    const n = reps * QUERIES.length;
    margins.forEach((m, i) => {
      const t = totals[i]!;
      const per = Object.fromEntries(Object.entries(t).map(([g, v]) => [g, round2(v / n)]));
      const sum = round2(Object.values(t).reduce((a, b) => a + b, 0) / n);
      console.log(
        `margin ${m}: ${strategy} ${viewer ? "viewer" : "unscoped"} CPU ms per query ${JSON.stringify(per)} total ${sum}; widened ${widened[i]} of ${n}`,
      );
    });
    await OnnxEmbedder.closeAll();
    await closeClients();
    process.exit(0);
  }
  const profiler = cpuProfiler(
    args.includes("--cpu-profile") ? args[args.indexOf("--cpu-profile") + 1] : undefined,
  );
  const scopes =
    scopeArg === "both" ? [undefined, BENCH_VIEWER] : [scopeArg === "viewer" ? BENCH_VIEWER : undefined];
  const totals = new Map<string, Record<CpuGroup, number>>();
  const rows: string[] = [];
  for (const viewer of scopes) {
    const label = viewer ? "viewer" : "unscoped";
    // Warm-up: model session, JIT, caches.
    for (const spec of QUERIES) await run(queryString(spec, strategy, viewer));
    await profiler.start();
    const total = noCpu();
    for (const spec of QUERIES) {
      const qs = queryString(spec, strategy, viewer);
      log.knn = [];
      log.among = [];
      log.checked = [];
      log.embeddedMatching = 0;
      const before = await snapshot();
      const t0 = performance.now();
      let hits = 0;
      for (let r = 0; r < reps; r++) hits = (await run(qs)).hits.length;
      const ms = (performance.now() - t0) / reps;
      const after = await snapshot();
      const per = (g: CpuGroup) => round2((after[g] - before[g]) / reps);
      for (const g of Object.keys(total) as CpuGroup[]) total[g] += after[g] - before[g];
      const path = `knn ${[...new Set(log.knn)].join("/")} check ${[...new Set(log.checked)].join("/")} among ${[...new Set(log.among)].join("/")}${log.embeddedMatching ? " ids" : ""}`;
      rows.push(
        `${label.padEnd(8)} ${round2(ms).toString().padStart(6)} ms  server ${per("server")} chroma ${per("chroma")} pg ${per("postgres")} os ${per("opensearch")}  hits ${hits}  ${path}  ${spec.q}${spec.channel ? ` [ch ${spec.channel}]` : ""}${spec.author ? " [author]" : ""}${spec.from || spec.to ? " [date]" : ""}`,
      );
    }
    await profiler.stop();
    totals.set(label, total);
  }
  await profiler.write();
  for (const r of rows) console.log(r);
  for (const [label, t] of totals) {
    const n = QUERIES.length * reps;
    const per = Object.fromEntries(Object.entries(t).map(([g, v]) => [g, round2(v / n)]));
    const sum = round2(Object.values(t).reduce((a, b) => a + b, 0) / n);
    console.log(`${strategy} ${label}: CPU ms per query ${JSON.stringify(per)} total ${sum}`);
  }
  await OnnxEmbedder.closeAll();
  await closeClients();
  process.exit(0);
}

/**
 * The measured queries' V8 CPU profile (with `--scope both`, the last scope's). Sampled wall time: a main thread descheduled in a syscall
 * that woke PostgreSQL or Chroma on the same core shows that time under `writev`/`postMessage`.
 */
function cpuProfiler(file: string | undefined) {
  const session = file ? new Session() : undefined;
  let profile: object | undefined;
  return {
    async start() {
      if (!session) return;
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    },
    async stop() {
      if (!session) return;
      profile = (await session.post("Profiler.stop")).profile;
      session.disconnect();
    },
    async write() {
      if (file && profile) await writeFile(file, JSON.stringify(profile));
    },
  };
}

/**
 * The semantic leg's parts alone, as the viewer: Chroma's CPU per unfiltered query by k, PostgreSQL's
 * per candidate check by id count, the scope's own query, and for each unfiltered bench query the
 * depth at which the viewer's 60th match appears among the unfiltered nearest (what k must reach).
 */
async function kCurve(c: Container, index: VectorCollection, reps: number): Promise<void> {
  const scope = (await c.access.visibleConversations(BENCH_VIEWER)).map((v) => v.conversation);
  const filters = { channels: scope };
  const embedder = c.embedder;
  const plain = QUERIES.filter((q) => !q.channel && !q.author && !q.from && !q.to && !/:/.test(q.q));
  const vectors = await Promise.all(plain.map((q) => embedder.embedQuery(q.q)));
  const share = await c.messageFilter.estimatedShare(filters);
  console.log(`estimated share ${share}; ${plain.length} unfiltered queries`);
  const cpu = async (label: string, fn: () => Promise<unknown>) => {
    const before = await snapshot();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await fn();
    const after = await snapshot();
    const n = reps;
    console.log(
      `${label.padEnd(28)} wall ${round2((performance.now() - t0) / n)} server ${round2((after.server - before.server) / n)} chroma ${round2((after.chroma - before.chroma) / n)} pg ${round2((after.postgres - before.postgres) / n)}`,
    );
  };
  for (const k of ["--k-ab", "--among", "--among-r"].some((f) => process.argv.includes(f))
    ? []
    : [60, 300, 600, 660, 720, 780, 840, 900, 1200, 2000]) {
    await cpu(`knn k=${k}`, async () => {
      for (const v of vectors) await index.query(v, {}, k);
    });
  }
  const deep = await Promise.all(vectors.map((v) => index.query(v, {}, 2000)));
  // PostgreSQL's own check, not the search process's cached facts (message-facts.ts) in front of it.
  const pgCheck = new PgMessageFilter(pgPool(c.config));
  for (const n of [300, 600, 900]) {
    await cpu(`pg check ${n} ids`, async () => {
      for (const d of deep)
        await pgCheck.matching(
          d.slice(0, n).map((h) => h.messageId),
          filters,
        );
    });
  }
  if (process.argv.includes("--k-ab")) {
    // Chroma CPU for two k, alternating call by call over the unfiltered queries.
    const ks = process.argv[process.argv.indexOf("--k-ab") + 1]!.split(",").map(Number);
    const sums = ks.map(() => ({ chroma: 0, server: 0, pg: 0 }));
    const deepIds = deep.map((d) => d.map((h) => h.messageId));
    for (let r = 0; r < reps; r++) {
      for (const [q, v] of vectors.entries()) {
        for (const [i, k] of ks.entries()) {
          const before = await snapshot();
          await index.query(v, {}, k);
          await pgCheck.matching(deepIds[q]!.slice(0, k), filters);
          const after = await snapshot();
          sums[i]!.chroma += after.chroma - before.chroma;
          sums[i]!.server += after.server - before.server;
          sums[i]!.pg += after.postgres - before.postgres;
        }
      }
    }
    const n = reps * vectors.length;
    for (const [i, k] of ks.entries()) {
      console.log(
        `k=${k} + check: chroma ${round2(sums[i]!.chroma / n)} pg ${round2(sums[i]!.pg / n)} server ${round2(sums[i]!.server / n)} ms per query`,
      );
    }
    return;
  }
  if (process.argv.includes("--among-r")) {
    // Chroma's restricted search by n_results, for one id count: does its cost follow max(ef_search, k)?
    const ids = ((await c.messageFilter.embeddedMatching(filters, 20_000)) ?? []).map((r) => r.messageId);
    const n = Number(process.argv[process.argv.indexOf("--among-r") + 1]);
    const subset = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / n)) === 0).slice(0, n);
    for (const r of [20, 60, 100, 200, 400]) {
      await cpu(`restricted ${subset.length} ids, n=${r}`, async () => {
        for (const v of vectors.slice(0, 10)) await index.queryAmong(v, subset, r);
      });
    }
    return;
  }
  if (process.argv.includes("--among")) {
    const ids = ((await c.messageFilter.embeddedMatching(filters, 20_000)) ?? []).map((r) => r.messageId);
    const few = vectors.slice(0, 10);
    for (const n of [100, 300, 1000, 3000]) {
      const subset = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / n)) === 0).slice(0, n);
      await cpu(`restricted among ${subset.length} (x10)`, async () => {
        for (const v of few) await index.queryAmong(v, subset, 60);
      });
      // The semantic leg's exact scan without a cache (maxFetchedExact): fetch, then scan.
      await cpu(`fetched exact among ${subset.length} (x10)`, async () => {
        for (const v of few) {
          const stored = await index.vectorsOf(subset);
          exactNearest(
            v,
            [...stored].map(([messageId, vector]) => ({ messageId, vector })),
            60,
          );
        }
      });
    }
    return;
  }
  await cpu("visibleConversations", async () => {
    for (const _ of vectors) await c.access.visibleConversations(BENCH_VIEWER);
  });
  const depths: number[] = [];
  for (const d of deep) {
    const keep = await c.messageFilter.matching(
      d.map((h) => h.messageId),
      filters,
    );
    let seen = 0;
    let depth = Number.POSITIVE_INFINITY;
    for (let i = 0; i < d.length; i++) {
      if (keep.has(d[i]!.messageId) && ++seen === 60) {
        depth = i + 1;
        break;
      }
    }
    depths.push(depth);
  }
  depths.sort((a, b) => a - b);
  console.log(`depth of the 60th visible match: ${depths.join(" ")}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
