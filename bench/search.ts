import "./quiet-env";
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OnnxEmbedder } from "../functions/adapters/onnx/onnx-embedder";
import { toMessageInput } from "../functions/core/ingest-request";
import { embeddingTexts, formatLegPolicy, keywordContexts } from "../functions/core/message-context";
import type { SearchStrategy, StoredMessage } from "../functions/core/model";
import type { Embedder } from "../functions/core/ports";
import { legWindow } from "../functions/core/search/cursor";
import { parseSearchRequest } from "../functions/core/search/search-request";
import { closeClients, openSearchClient } from "../functions/shared/clients";
import { type Config, loadConfig, setConfig } from "../functions/shared/config";
import { type Container, createContainer, setContainer } from "../functions/shared/container";
import { startHttpGateway } from "../local/runtime/http-gateway";
import { dropDatabase } from "../test/helpers/test-db";
import { generateSearchCorpus } from "./corpus";
import {
  type BenchNamespace,
  createBenchNamespace,
  deleteNamespaceStores,
  loadAverage,
  numberFlag,
  percentile,
  REPO_ROOT,
  round2,
  type WireMessage,
  withNamespace,
  writeReport,
} from "./helpers";
import { type CpuGroup, cpuBetween, cpuPerRequest, cpuSnapshot, noCpu } from "./process-cpu";
import type { ClientJob, ClientResult, Sample } from "./search-client";

/**
 * Search latency, one run, one report (bench/reports/search.json):
 *   npx tsx bench/search.ts [--messages 100000] [--rounds 20] [--keep | --reuse | --drop-kept]
 * (`--keep` leaves the loaded namespace and records it; `--reuse` runs only the queries against it;
 * `--drop-kept` deletes it.)
 *
 * Loads a synthetic corpus into an isolated namespace (rows by the store's bulk path, OpenSearch by
 * `_bulk`, Chroma by upsert with real ONNX embeddings of the texts the embedder worker would embed
 * under the configured context policy, cached on disk under .cache/bench/ by text hash), then sends a fixed set of 50 queries through the HTTP API (the
 * local API Gateway in front of the real search handler: what a user's client sees) for each
 * strategy at concurrency 1 and 8. Strategies are interleaved round by round so background load
 * hits them alike. The clients run in a forked process (bench/search-client.ts), so this process
 * only serves.
 */

const STRATEGIES: readonly SearchStrategy[] = ["bm25", "semantic", "hybrid"];

/**
 * The permission model's scope (README "Permissions"): every channel of the corpus is private, and
 * the bench viewer is a member of 20 of its 200 channels (~10% of the messages). Each strategy runs
 * unscoped (the admin tool, SEARCH_ALLOW_UNSCOPED=true) and as that viewer.
 */
const VIEWER = "UBENCHVIEWER1";
const SUBCHANNELS = 25;
const VIEWER_CHANNELS = 20;
const VIEWER_CHANNELS_TOTAL = 8 * SUBCHANNELS;
interface Variant {
  /** The report's key: the strategy, plus " as viewer" when scoped. */
  readonly name: string;
  readonly strategy: SearchStrategy;
  readonly viewer?: string;
}
const VARIANTS: readonly Variant[] = [
  ...STRATEGIES.map((strategy) => ({ name: strategy, strategy })),
  ...STRATEGIES.map((strategy) => ({ name: `${strategy} as viewer`, strategy, viewer: VIEWER })),
];
/** The corpus's 8 channels, each split into 25 (`#platform-0` .. `#platform-24`): 200 conversations. */
const subchannel = (channel: string, i: number) => `${channel}-${i % SUBCHANNELS}`;
const subchannels = (channel: string) =>
  Array.from({ length: SUBCHANNELS }, (_, i) => subchannel(channel, i));
/** The bench corpus: the search corpus with its channels split (same texts, so the same embeddings). */
function benchCorpus(n: number): WireMessage[] {
  return generateSearchCorpus(n).map((m, i) => ({ ...m, channel: subchannel(m.channel, i) }));
}
/** The viewer's channels, set once the corpus exists (queryString names only these as the viewer). */
let viewerScope: ReadonlySet<string> = new Set();
/** For tools that query a kept namespace without loading it (bench/search-probe.ts). */
export function useViewerScope(channels: Iterable<string>): void {
  viewerScope = new Set(channels);
}
export const BENCH_VIEWER = VIEWER;
/** The viewer's 20 channels: the first 20 of the 200 in a fixed order (`-0` and `-1` of each, then `-2`). */
function viewerChannels(corpus: readonly WireMessage[]): string[] {
  const all = [...new Set(corpus.map((m) => m.channel))].sort((a, b) => {
    const [na, ka] = [a.replace(/-\d+$/, ""), Number(a.slice(a.lastIndexOf("-") + 1))];
    const [nb, kb] = [b.replace(/-\d+$/, ""), Number(b.slice(b.lastIndexOf("-") + 1))];
    return ka - kb || na.localeCompare(nb);
  });
  return all.slice(0, VIEWER_CHANNELS);
}
const CONCURRENCY = [1, 8] as const;
/**
 * Rounds per concurrency (--rounds); a round is every query once (c=1) or twice (c=8) per strategy.
 * 20 rounds = 1,000 / 2,000 samples, so the c=1 p95 and p99 rest on 50 and 10 samples. With 6 rounds
 * (15 and 3) the c=1 hybrid/semantic p95 ratio of the same code ranged 0.97-1.26 between runs.
 */
const DEFAULT_ROUNDS = 20;
const LIMIT = 20;
const EMBED_CHUNK = 4096;
const SOURCE = { type: "slack", name: "bench" } as const;

interface QuerySpec {
  readonly q: string;
  readonly channel?: string | string[];
  readonly author?: string | string[];
  readonly from?: string;
  readonly to?: string;
}

/** Keywords, phrases, boolean forms, natural language, and filters (alone and combined). */
export const QUERIES: readonly QuerySpec[] = [
  { q: "OAuth" },
  { q: "OAuth2 token refresh" },
  { q: "users can't login" },
  { q: "login screen stuck" },
  { q: '"password reset"' },
  { q: '"authorization code flow"' },
  { q: "bug NOT fixed" },
  { q: "deploy staging" },
  { q: "rollback AND checkout" },
  { q: "timeout -retries" },
  { q: "Kafka consumer lag" },
  { q: "why is checkout slow" },
  { q: "memory leak in the mobile app" },
  { q: "who owns the dashboard" },
  { q: "standup moved" },
  { q: "budget review" },
  { q: "p99 latency incident" },
  { q: '"error rate"' },
  { q: "CI pipeline failing" },
  { q: "flaky integration tests" },
  { q: "Stripe webhook OR invoice" },
  { q: "refund" },
  { q: "TLS certificate renewal" },
  { q: "GDPR deletion" },
  { q: "database failover production" },
  { q: "cost went up this month" },
  { q: "security review tokens logged" },
  { q: "design doc review" },
  { q: "push notifications android" },
  { q: "rate limiter config change" },
  { q: "login", channel: "#auth-team" },
  { q: "deploy", channel: "#platform" },
  { q: "crash", channel: "#mobile" },
  { q: "invoice", channel: ["#billing", "#general"] },
  { q: "alert fired at night", channel: "#incidents" },
  { q: "review my PR", author: "priya@company.com" },
  { q: "rollback", author: ["omar@company.com", "kenji@company.com"] },
  { q: "migration", from: "2025-11-01", to: "2025-11-30" },
  { q: "Postgres vacuum", from: "2025-12-01" },
  { q: "sign in mobile", channel: "#mobile", from: "2025-10-15" },
  { q: "feature flag rollout", author: "alice@company.com", to: "2025-11-15" },
  { q: '"load test"', channel: "#platform", author: "chen@company.com" },
  { q: "Airflow DAG nightly ETL", channel: "#data" },
  { q: "onboarding flow A/B test", channel: "#frontend" },
  { q: "OAuth security", channel: "#auth-team", from: "2025-11-01" },
  { q: "maintenance window read-only" },
  { q: "search relevance embedding model" },
  { q: '"closing the ticket"' },
  { q: "connection pool exhausted" },
  { q: "dark mode accessibility" },
  // Slack's modifiers in q (issue #17): filters inside each leg, taken out of the matched text.
  { q: "deploy in:#platform-3" },
  { q: "rollback from:omar@company.com" },
  { q: "alert after:2025-11-01 before:2025-12-01" },
  { q: "invoice -in:#billing-0 during:2025-11" },
  { q: "login is:thread" },
];

/** Where `--keep` records a loaded namespace for `--reuse` (tuning runs skip the ~2-min load). */
const KEPT = join(REPO_ROOT, ".cache", "bench", "search-kept-namespace.json");
type KeptNamespace = Pick<
  Config,
  "DATABASE_URL" | "OPENSEARCH_INDEX" | "CHROMA_COLLECTION" | "QUEUE_PREFIX"
> & { messages: number; load: LoadTimes };

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = numberFlag(args, "messages", 100_000);
  const rounds = numberFlag(args, "rounds", DEFAULT_ROUNDS);
  if (args.includes("--drop-kept")) return dropKept();
  let report: Awaited<ReturnType<typeof run>>;
  if (args.includes("--reuse")) {
    // A namespace an earlier `--keep` run loaded: same corpus, only the query phase runs again.
    const kept = JSON.parse(await readFile(KEPT, "utf8")) as KeptNamespace;
    if (kept.messages !== n) throw new Error(`${KEPT} holds ${kept.messages} messages, not ${n}`);
    const { messages: _m, load, ...names } = kept;
    const cfg = loadConfig({ ...process.env, ...names, DATABASE_POOL_MAX: "8", LOG_LEVEL: "ERROR" });
    report = await run(cfg, n, rounds, async () => load);
  } else {
    const ns = await createBenchNamespace("search");
    const keep = args.includes("--keep");
    const body = (ns: BenchNamespace) =>
      run(ns.config, n, rounds, async (corpus) => {
        const load = await loadStores(ns, corpus);
        await applyBenchAccess(ns.config, corpus);
        if (keep) {
          const { DATABASE_URL, OPENSEARCH_INDEX, CHROMA_COLLECTION, QUEUE_PREFIX } = ns.config;
          const kept: KeptNamespace = {
            DATABASE_URL,
            OPENSEARCH_INDEX,
            CHROMA_COLLECTION,
            QUEUE_PREFIX,
            messages: n,
            load,
          };
          await writeFile(KEPT, JSON.stringify(kept, null, 2));
          console.log(`kept the namespace for --reuse: ${KEPT} (--drop-kept deletes it)`);
        }
        return load;
      });
    // --keep leaves the namespace in place; otherwise it is deleted, also on failure or Ctrl-C.
    if (keep) {
      report = await body(ns);
      await ns.db.pool.end();
    } else report = await withNamespace(ns, body);
  }
  await OnnxEmbedder.closeAll();
  // The default store's report is the README's; a run with VECTOR_STORE=opensearch keeps its own.
  const path = await writeReport(
    report.vectorStore === "chroma" ? "search" : `search-${report.vectorStore}`,
    report,
  );
  console.log(`wrote ${path}`);
  await closeClients();
}

/** Deletes what `--keep` left: the database, the OpenSearch index, the Chroma collections. */
async function dropKept(): Promise<void> {
  const { messages: _n, load: _l, ...names } = JSON.parse(await readFile(KEPT, "utf8")) as KeptNamespace;
  const cfg = loadConfig({ ...process.env, ...names });
  await deleteNamespaceStores(cfg);
  await dropDatabase(new URL(cfg.DATABASE_URL).pathname.slice(1));
  await rm(KEPT);
  console.log(`dropped the kept namespace (${cfg.OPENSEARCH_INDEX})`);
}

/** Every channel private (members only), the bench viewer a member of 20 (the access adapter's own path). */
async function applyBenchAccess(cfg: Config, corpus: readonly WireMessage[]): Promise<void> {
  const at = new Date("2026-01-01T00:00:00Z");
  const channels = [...new Set(corpus.map((m) => m.channel))];
  await createContainer(cfg).access.apply([
    ...channels.map((conversation) => ({
      kind: "audience" as const,
      source: SOURCE,
      conversation,
      audience: "members" as const,
      at,
    })),
    ...viewerChannels(corpus).map((conversation) => ({
      kind: "member" as const,
      source: SOURCE,
      conversation,
      principal: VIEWER,
      member: true,
      at,
    })),
  ]);
  console.log(`access: ${channels.length} private channels, ${VIEWER} in ${VIEWER_CHANNELS}`);
}

async function run(
  cfg: Config,
  n: number,
  rounds: number,
  loadCorpus: (corpus: readonly WireMessage[]) => Promise<LoadTimes>,
) {
  // Unscoped searches are the admin tool: this deployment allows them beside the viewer's.
  cfg = { ...cfg, SEARCH_ALLOW_UNSCOPED: true };
  setConfig(cfg);
  const loadStart = loadAverage();
  console.log(`namespace ${cfg.OPENSEARCH_INDEX}; ${n} messages; load ${JSON.stringify(loadStart)}`);
  const corpus = benchCorpus(n);
  viewerScope = new Set(viewerChannels(corpus));
  const load = await loadCorpus(corpus);

  // The search route exactly as local/app.ts declares it, without the pollers and schedules
  // (a reconciler pass over 100k rows in the middle of the run would be noise, not search).
  const served = createContainer(cfg);
  setContainer(served);
  const { handler } = await import("../functions/handlers/search");
  const gateway = await startHttpGateway({
    port: 0,
    quiet: true,
    routes: [{ method: "GET", path: "/search", handler, functionName: "search", timeoutMs: 10_000 }],
  });
  const openSearchUptimeMinutes = await openSearchJvmUptimeMinutes(cfg);
  const openSearchWarmUpSeconds = await warmOpenSearch(served);
  console.log(
    `OpenSearch up ${openSearchUptimeMinutes} min; warmed with ${OPENSEARCH_WARM_UP_QUERIES} bm25 queries in ${openSearchWarmUpSeconds} s`,
  );
  const client = startClient();
  try {
    const url = (spec: QuerySpec, v: Variant) =>
      `${gateway.url}/search?${queryString(spec, v.strategy, v.viewer)}`;
    // Warm-up: model session, JIT, each index's caches; also checks that queries find something.
    const empty: Record<string, string[]> = {};
    // A modifier query whose modifier did not apply measures a plain search: listed in the report.
    const notApplied: Record<string, string[]> = {};
    // The first pass, one request at a time: where per-process caches fill (the semantic leg's
    // vector cache among them), so the phases below measure warm processes; recorded as it was.
    const warmUpMs: Record<string, number[]> = {};
    for (const v of VARIANTS) {
      for (const spec of QUERIES) {
        const [r] = await client.run([url(spec, v)], 1);
        if (!r) throw new Error(`warm-up ${v.name} ${spec.q}: no sample`);
        warmUpMs[v.name] = [...(warmUpMs[v.name] ?? []), r.ms];
        if (r.status !== 200)
          throw new Error(`warm-up ${v.name} ${spec.q}: HTTP ${r.status} ${r.error ?? ""}`);
        if (r.results === 0) empty[v.name] = [...(empty[v.name] ?? []), spec.q];
        if (r.notApplied) notApplied[v.name] = [...(notApplied[v.name] ?? []), spec.q];
      }
    }

    const samples = new Map<string, Sample[]>();
    const wallMs = new Map<string, number>();
    const cpuMs = new Map<string, Record<CpuGroup, number>>();
    /** Latencies per strategy@concurrency and query, for the slowest-queries list. */
    const byQuery = new Map<string, number[]>();
    const phases: { concurrency: number; load: ReturnType<typeof loadAverage> }[] = [];
    for (const concurrency of CONCURRENCY) {
      phases.push({ concurrency, load: loadAverage() });
      for (let round = 0; round < rounds; round++) {
        for (const variant of VARIANTS) {
          // At c=8 the list runs twice per round, so most of the round has 8 requests in flight.
          const specs = concurrency === 1 ? QUERIES : [...QUERIES, ...QUERIES];
          const started = performance.now();
          const cpuBefore = cpuSnapshot(client.pid);
          const got = await client.run(
            specs.map((s) => url(s, variant)),
            concurrency,
          );
          const cpuAfter = cpuSnapshot(client.pid);
          const key = `${variant.name}@${concurrency}`;
          wallMs.set(key, (wallMs.get(key) ?? 0) + performance.now() - started);
          const cpu = cpuMs.get(key) ?? noCpu();
          const used = cpuBetween(cpuBefore, cpuAfter);
          for (const g of Object.keys(cpu) as CpuGroup[]) cpu[g] += used[g];
          cpuMs.set(key, cpu);
          samples.set(key, [...(samples.get(key) ?? []), ...got]);
          for (const sample of got) {
            const spec = specs[sample.index ?? -1];
            if (!spec || sample.status !== 200) continue;
            const perQuery = `${key} ${queryString(spec, variant.strategy, variant.viewer)}`;
            byQuery.set(perQuery, [...(byQuery.get(perQuery) ?? []), sample.ms]);
          }
        }
      }
    }

    const stats: Record<
      string,
      Record<string, LatencyStats & { cpuMsPerRequest: Record<string, number> }>
    > = {};
    for (const concurrency of CONCURRENCY) {
      stats[`c${concurrency}`] = Object.fromEntries(
        VARIANTS.map(({ name }) => {
          const key = `${name}@${concurrency}`;
          const got = samples.get(key) ?? [];
          return [
            name,
            {
              ...summarize(got, wallMs.get(key) ?? 0),
              cpuMsPerRequest: cpuPerRequest(noCpu(), cpuMs.get(key) ?? noCpu(), got.length),
            },
          ];
        }),
      );
    }
    const ratios: Record<string, { hybridP95: number; slowerLegP95: number; ratio: number }> = {};
    const scopes = ["", " as viewer"];
    const phaseKeys = CONCURRENCY.flatMap((c) => scopes.map((scope) => ({ c, scope, key: `c${c}${scope}` })));
    for (const { c, scope, key } of phaseKeys) {
      const s = stats[`c${c}`]!;
      const slower = Math.max(s[`bm25${scope}`]!.p95, s[`semantic${scope}`]!.p95);
      ratios[key] = {
        hybridP95: s[`hybrid${scope}`]!.p95,
        slowerLegP95: slower,
        ratio: round2(s[`hybrid${scope}`]!.p95 / slower),
      };
    }
    const targets = Object.fromEntries(
      phaseKeys.map(({ key }) => {
        const r = ratios[key]!;
        return [
          key,
          {
            // Judged on the unrounded ratio: 1.203 shows as 1.2 but misses the target.
            hybridOverSlowerLeg: {
              target: 1.2,
              value: r.ratio,
              met: r.hybridP95 / r.slowerLegP95 <= 1.2,
              unrounded: Math.round((r.hybridP95 / r.slowerLegP95) * 10_000) / 10_000,
            },
            hybridP95Ms: { target: 150, value: r.hybridP95, met: r.hybridP95 <= 150 },
          },
        ];
      }),
    );
    for (const c of CONCURRENCY) {
      for (const { name } of VARIANTS) {
        const x = stats[`c${c}`]![name]!;
        console.log(
          `c=${c} ${name.padEnd(18)} p50 ${x.p50} p95 ${x.p95} p99 ${x.p99} ms (n=${x.n}, errors ${x.errors}); ` +
            `CPU ms/request ${JSON.stringify(x.cpuMsPerRequest)}`,
        );
      }
      for (const scope of scopes)
        console.log(`c=${c}${scope} hybrid p95 / slower leg p95 = ${ratios[`c${c}${scope}`]!.ratio}`);
    }
    return {
      benchmark: "search",
      vectorStore: cfg.VECTOR_STORE,
      at: new Date().toISOString(),
      host: hostname(),
      node: process.version,
      messages: n,
      distinctTexts: load.distinctTexts,
      path: "HTTP: GET /search through the local API Gateway (local/runtime/http-gateway.ts) -> search handler",
      limit: LIMIT,
      queries: QUERIES.length,
      viewerScope: { viewer: VIEWER, channels: VIEWER_CHANNELS, of: VIEWER_CHANNELS_TOTAL },
      rounds,
      load,
      openSearchUptimeMinutes,
      openSearchWarmUp: { queries: OPENSEARCH_WARM_UP_QUERIES, seconds: openSearchWarmUpSeconds },
      firstPassMs: Object.fromEntries(
        Object.entries(warmUpMs).map(([name, ms]) => [
          name,
          {
            mean: Math.round((ms.reduce((a, b) => a + b, 0) / ms.length) * 10) / 10,
            max: Math.round(Math.max(...ms) * 10) / 10,
          },
        ]),
      ),
      latencyMs: stats,
      ratios,
      targets,
      // No request names a grouping: each strategy runs its default, read from the request parser.
      group: Object.fromEntries(
        STRATEGIES.map((st) => [st, parseSearchRequest({ q: "x", strategy: st }, served.cursorKey).group]),
      ),
      queriesWithNoResults: empty,
      modifiersNotApplied: notApplied,
      // Where the tail comes from: the queries with the highest mean latency, per phase.
      slowestQueries: Object.fromEntries(
        CONCURRENCY.flatMap((c) =>
          VARIANTS.map(({ name }) => {
            const prefix = `${name}@${c} `;
            const rows = [...byQuery]
              .filter(([k]) => k.startsWith(prefix))
              .map(([k, ms]) => ({
                query: decodeURIComponent(k.slice(prefix.length)),
                meanMs: Math.round((ms.reduce((a, b) => a + b, 0) / ms.length) * 10) / 10,
              }))
              .sort((a, b) => b.meanMs - a.meanMs)
              .slice(0, 5);
            return [`${name}@c${c}`, rows];
          }),
        ),
      ),
      loadAverage: { start: loadStart, phases, end: loadAverage() },
      note:
        "Client-side latency (request sent -> body read), measured by a load generator in its own process " +
        "(bench/search-client.ts); serverP50/P95 are the handler's took_ms. 2-core machine shared with " +
        "other engineers' test runs: read the percentiles with the load averages.",
    };
  } finally {
    client.close();
    await gateway.close();
  }
}

/** Forks bench/search-client.ts (through tsx, like this script) and sends it jobs one at a time. */
function startClient() {
  const script = fileURLToPath(new URL("./search-client.ts", import.meta.url));
  const child = fork(script, [], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  let nextId = 0;
  const pending = new Map<number, { resolve: (samples: Sample[]) => void; reject: (err: Error) => void }>();
  child.on("message", (msg: ClientResult) => {
    pending.get(msg.id)?.resolve(msg.samples);
    pending.delete(msg.id);
  });
  // A client that dies mid-run fails the run instead of leaving it waiting forever.
  child.on("exit", (code) => {
    for (const p of pending.values())
      p.reject(new Error(`search client exited (${code}) with a job pending`));
    pending.clear();
  });
  return {
    pid: child.pid,
    run(urls: readonly string[], concurrency: number): Promise<Sample[]> {
      const id = nextId++;
      return new Promise<Sample[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const job: ClientJob = { id, urls, concurrency };
        child.send(job, (err) => {
          if (err) {
            pending.delete(id);
            reject(err);
          }
        });
      });
    },
    close(): void {
      if (child.connected) child.disconnect();
    },
  };
}

/**
 * OpenSearch's JIT needs many queries before its CPU per query settles. Measured right after
 * `stack up` (and even 30 min later, with only earlier bench runs as traffic), OpenSearch used
 * 1.5-6 times its warm CPU per bm25 query, and kept compiling during semantic-only phases, which
 * send it nothing: hybrid then paid for JIT work. So, like a JMH warm-up, this many BM25 queries
 * (the benchmark's own, at hybrid's leg window) go straight to the index before any measurement.
 * The report also records the JVM's uptime.
 */
const OPENSEARCH_WARM_UP_QUERIES = 12_000;

async function warmOpenSearch(served: Container): Promise<number> {
  // The served container's own index adapter: the warm-up takes the same client and connections.
  const index = served.keywordIndex();
  const requests = QUERIES.map((spec) =>
    parseSearchRequest(
      {
        q: spec.q,
        channel:
          spec.channel === undefined ? undefined : [spec.channel].flat().flatMap(subchannels).join(","),
        author: spec.author,
        from: spec.from,
        to: spec.to,
      },
      served.cursorKey,
    ),
  );
  // The depth a hybrid search of this benchmark asks each leg for.
  const window = legWindow(LIMIT, 0, served.config.SEARCH_LEG_WINDOW);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < OPENSEARCH_WARM_UP_QUERIES) {
      const r = requests[next++ % requests.length]!;
      await index.search(r.query, r.filters, window);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return Math.round((performance.now() - started) / 1000);
}

async function openSearchJvmUptimeMinutes(cfg: Config): Promise<number> {
  const res = await openSearchClient(cfg).nodes.stats({ metric: ["jvm"] });
  const nodes = Object.values(res.body.nodes ?? {}) as { jvm?: { uptime_in_millis?: number } }[];
  return Math.round(Math.min(...nodes.map((n) => n.jvm?.uptime_in_millis ?? 0)) / 60_000);
}

export function queryString(spec: QuerySpec, strategy: SearchStrategy, viewer?: string): string {
  const p = new URLSearchParams({ q: spec.q, strategy, limit: String(LIMIT) });
  if (viewer) p.set("viewer", viewer);
  // A channel filter names one of the corpus's 8 channels: all 25 of its parts (the same messages).
  const channels =
    spec.channel === undefined ? [] : Array.isArray(spec.channel) ? spec.channel : [spec.channel];
  // As the viewer, only the parts they may read: naming a channel one cannot read is a 400 (#16).
  const named = channels.flatMap(subchannels).filter((c) => !viewer || viewerScope.has(c));
  if (channels.length > 0) p.set("channel", named.join(","));
  for (const x of spec.author === undefined ? [] : Array.isArray(spec.author) ? spec.author : [spec.author])
    p.append("author", x);
  if (spec.from) p.set("from", spec.from);
  if (spec.to) p.set("to", spec.to);
  return p.toString();
}

interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /** The handler's own took_ms (inside the function, without HTTP and JSON). */
  serverP50: number;
  serverP95: number;
  errors: number;
  degraded: number;
  meanResults: number;
  /** Completed requests per second of wall time (the closed loop's throughput). */
  requestsPerSecond: number;
}

function summarize(samples: readonly Sample[], wallMs: number): LatencyStats {
  const ok = samples.filter((s) => s.status === 200);
  const ms = ok.map((s) => s.ms);
  const server = ok.flatMap((s) => (s.tookMs === undefined ? [] : [s.tookMs]));
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    n: ok.length,
    p50: r1(percentile(ms, 50)),
    p95: r1(percentile(ms, 95)),
    p99: r1(percentile(ms, 99)),
    mean: r1(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)),
    max: r1(Math.max(...ms)),
    serverP50: r1(percentile(server, 50)),
    serverP95: r1(percentile(server, 95)),
    errors: samples.length - ok.length,
    degraded: ok.filter((s) => s.degraded).length,
    meanResults: r1(ok.reduce((a, s) => a + s.results, 0) / Math.max(1, ok.length)),
    requestsPerSecond: r1(samples.length / (wallMs / 1000)),
  };
}

/**
 * One embedding per distinct text, computed once per text list and vector space and kept under
 * <CACHE_DIR>/bench/embeddings/<hash>/ in chunks, so an interrupted run resumes where it stopped.
 * The texts are what the embedder worker embeds (the message with its context), so a change of
 * context policy is a new cache entry, as it is a new vector space.
 */
export async function cachedEmbeddings(
  cfg: Config,
  embedder: Embedder,
  texts: readonly string[],
): Promise<{ distinct: string[]; vectors: Float32Array; indexOf: Map<string, number> }> {
  const indexOf = new Map<string, number>();
  const distinct: string[] = [];
  for (const text of texts) {
    if (!indexOf.has(text)) {
      indexOf.set(text, distinct.length);
      distinct.push(text);
    }
  }
  const hash = createHash("sha256")
    .update(`${embedder.modelId}\n${embedder.dimension}\n${EMBED_CHUNK}\n`)
    .update(distinct.join("\u0000"))
    .digest("hex")
    .slice(0, 16);
  const cacheRoot = isAbsolute(cfg.CACHE_DIR) ? cfg.CACHE_DIR : join(REPO_ROOT, cfg.CACHE_DIR);
  const dir = join(cacheRoot, "bench", "embeddings", hash);
  await mkdir(dir, { recursive: true });
  const dim = embedder.dimension;
  const vectors = new Float32Array(distinct.length * dim);
  const chunks = Math.ceil(distinct.length / EMBED_CHUNK);
  let computed = 0;
  const started = performance.now();
  for (let c = 0; c < chunks; c++) {
    const chunkTexts = distinct.slice(c * EMBED_CHUNK, (c + 1) * EMBED_CHUNK);
    const file = join(dir, `chunk-${c}.f32`);
    if (existsSync(file)) {
      const buf = await readFile(file);
      if (buf.byteLength === chunkTexts.length * dim * 4) {
        vectors.set(
          new Float32Array(buf.buffer, buf.byteOffset, chunkTexts.length * dim),
          c * EMBED_CHUNK * dim,
        );
        continue;
      }
    }
    const out = await embedder.embed(chunkTexts);
    const chunk = new Float32Array(chunkTexts.length * dim);
    out.forEach((v, i) => {
      chunk.set(v, i * dim);
    });
    vectors.set(chunk, c * EMBED_CHUNK * dim);
    await writeFile(`${file}.tmp`, Buffer.from(chunk.buffer));
    await rename(`${file}.tmp`, file);
    computed += chunkTexts.length;
    const rate = computed / ((performance.now() - started) / 1000);
    const left = distinct.length - (c + 1) * EMBED_CHUNK;
    console.log(
      `embedded ${Math.min((c + 1) * EMBED_CHUNK, distinct.length)}/${distinct.length} distinct texts ` +
        `(${Math.round(rate)}/s${left > 0 ? `, ~${Math.round(left / rate)} s left` : ""})`,
    );
  }
  console.log(
    computed === 0
      ? `embeddings: all ${distinct.length} from the cache (${dir})`
      : `embeddings: ${computed} computed, ${distinct.length - computed} cached (${dir})`,
  );
  return { distinct, vectors, indexOf };
}

/**
 * Loads the corpus as the write path leaves it once both indexes caught up, through the
 * deployment's own code: rows by the store's bulk path (the history import's applySourceUpserts,
 * context refresh included), keyword documents and vectors by the container's adapters with the
 * configured context policy (keywordContexts / embeddingTexts, the vector space of the policy).
 * Only the queues and workers are skipped: their rates are bench/ingest's subject.
 */
export async function loadStores(ns: BenchNamespace, corpus: readonly WireMessage[]): Promise<LoadTimes> {
  const cfg = ns.config;
  const pool = ns.db.pool;
  const stores = createContainer(cfg);
  const embedder = stores.embedder;
  const store = stores.store;

  // PostgreSQL: the import's batch path, then the rows marked as indexed (the bench writes the
  // indexes itself below) and the outbox emptied (no relay runs).
  let t = performance.now();
  const ROW_CHUNK = 5_000;
  for (let i = 0; i < corpus.length; i += ROW_CHUNK) {
    const { outcomes } = await store.applySourceUpserts(
      corpus.slice(i, i + ROW_CHUNK).map((w) => {
        const message = toMessageInput(w);
        return {
          kind: "upsert" as const,
          eventId: `bench:${message.externalId}`,
          source: SOURCE,
          message,
          sourceTimeUs: BigInt(message.timestamp.getTime()) * 1000n,
        };
      }),
    );
    const failed = outcomes.find((o) => o.status !== "created");
    if (failed) throw new Error(`bulk load: ${failed.externalId} ${failed.status}`);
  }
  await pool.query(
    `UPDATE messages SET keyword_version = version, vector_version = version, vector_model = $1,
       embedding_id = 'msg_' || id`,
    [embedder.modelId],
  );
  await pool.query("DELETE FROM outbox");
  // Steady state, as autovacuum leaves a table after a bulk insert: statistics and the visibility map.
  await pool.query("VACUUM (ANALYZE) messages");
  await pool.query("VACUUM (ANALYZE) outbox");
  const idRows = await pool.query<{ id: string }>("SELECT id FROM messages ORDER BY id");
  const ids = idRows.rows.map((r) => Number(r.id));
  const rows: StoredMessage[] = [];
  for (let i = 0; i < ids.length; i += 10_000) rows.push(...(await store.getByIds(ids.slice(i, i + 10_000))));
  const pgSeconds = (performance.now() - t) / 1000;
  console.log(`postgres: ${rows.length} rows in ${pgSeconds.toFixed(1)} s`);

  // What each index holds for a row under the configured policy (context included).
  t = performance.now();
  const CONTEXT_CHUNK = 5_000;
  const keywordContext = new Map<number, string>();
  const texts: string[] = [];
  for (let i = 0; i < rows.length; i += CONTEXT_CHUNK) {
    const chunk = rows.slice(i, i + CONTEXT_CHUNK);
    for (const [id, text] of await keywordContexts(chunk, stores.indexContext)) keywordContext.set(id, text);
    texts.push(...(await embeddingTexts(chunk, stores.indexContext)));
  }
  const contextSeconds = (performance.now() - t) / 1000;
  const embeddings = await cachedEmbeddings(cfg, embedder, texts);

  // OpenSearch: the adapter's own index and `_bulk` path, refresh off while loading.
  t = performance.now();
  const os = openSearchClient(cfg);
  const keyword = stores.keywordIndex();
  await keyword.ensureIndex();
  await os.indices.putSettings({ index: cfg.OPENSEARCH_INDEX, body: { index: { refresh_interval: "-1" } } });
  const BULK = 2_000;
  for (let i = 0; i < rows.length; i += 2 * BULK) {
    const outcomes = (
      await Promise.all([
        keyword.upsert(rows.slice(i, i + BULK), keywordContext),
        keyword.upsert(rows.slice(i + BULK, i + 2 * BULK), keywordContext),
      ])
    ).flat();
    const bad = outcomes.find((o) => !o.ok);
    if (bad) throw new Error(`bulk load: ${bad.error}`);
  }
  await os.indices.putSettings({ index: cfg.OPENSEARCH_INDEX, body: { index: { refresh_interval: "1s" } } });
  await keyword.refresh();
  const osSeconds = (performance.now() - t) / 1000;
  console.log(`opensearch: ${await keyword.count()} docs in ${osSeconds.toFixed(1)} s`);

  // The vector store (VECTOR_STORE): the adapter's upsert (metadata as the embedder worker writes it), vectors from the cache.
  t = performance.now();
  const vector = stores.vectorIndex();
  const dim = embedder.dimension;
  const CHROMA_BATCH = 2_000;
  for (let i = 0; i < rows.length; i += CHROMA_BATCH) {
    await vector.upsert(
      rows.slice(i, i + CHROMA_BATCH).map((message, j) => {
        const k = embeddings.indexOf.get(texts[i + j]!)!;
        return { message, embedding: Array.from(embeddings.vectors.subarray(k * dim, (k + 1) * dim)) };
      }),
    );
    if ((i / CHROMA_BATCH) % 10 === 9) console.log(`${ns.config.VECTOR_STORE}: ${i + CHROMA_BATCH} vectors`);
  }
  const chromaCount = await vector.count();
  const chromaSeconds = (performance.now() - t) / 1000;
  console.log(
    `${ns.config.VECTOR_STORE}: ${chromaCount} vectors in ${chromaSeconds.toFixed(1)} s (${embedder.modelId})`,
  );
  if (chromaCount !== rows.length) throw new Error(`chroma holds ${chromaCount} of ${rows.length} vectors`);

  const times: LoadTimes = {
    distinctTexts: embeddings.distinct.length,
    vectorSpace: embedder.modelId,
    contextPolicy: {
      keyword: formatLegPolicy(cfg.contextPolicy.keyword),
      vector: formatLegPolicy(cfg.contextPolicy.vector),
    },
    postgresSeconds: round2(pgSeconds),
    contextSeconds: round2(contextSeconds),
    opensearchSeconds: round2(osSeconds),
    chromaSeconds: round2(chromaSeconds),
  };
  return times;
}

interface LoadTimes {
  distinctTexts: number;
  vectorSpace: string;
  contextPolicy: { keyword: string; vector: string };
  contextSeconds: number;
  postgresSeconds: number;
  opensearchSeconds: number;
  chromaSeconds: number;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
