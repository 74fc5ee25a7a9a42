import pg from "pg";
import {
  buildPlantedBenchmark,
  DEFAULT_PLANTED_SETTINGS,
  type PlantedBenchmark,
  type PlantedGapSettings,
  type PlantedScore,
  scorePlanted,
} from "../../functions/core/eval/planted-gaps";
import type { GapDefinition } from "../../functions/core/gaps/definition";
import { detectGaps, type GapDetectionStats } from "../../functions/core/gaps/detect-gaps";
import { sqsClient } from "../../functions/shared/clients";
import { type Config, loadConfig } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import { gapDefinition, gapDetectionPorts } from "../../functions/shared/gaps";
import {
  deleteNamespaceResources,
  dropDatabaseOf,
  type Namespace,
  namespaceSlug,
  startNamespace,
} from "../../local/namespace";
import { ensureQueues } from "../../local/stack/queues";
import type { Dataset } from "./dataset";
import { loadThroughApi, waitUntilIndexed } from "./run-eval";

/**
 * `trisearch gaps-eval`: a planted-gap benchmark (functions/core/eval/planted-gaps.ts) through the
 * whole product: the messages go in through POST /messages of an isolated namespace, both indexes
 * fill from the queues, gap detection runs over the benchmark's window, and the reported gaps are
 * scored against the planted ones.
 */
export interface GapsEvalReport {
  readonly dataset: { readonly name: string; readonly messages: number; readonly channels: number };
  readonly generator: PlantedGapSettings;
  /** Judged topics of a plantable size, and how many of them are cohesive (planted-gaps.ts). */
  readonly selection: PlantedBenchmark["selection"];
  readonly definition: GapDefinition;
  readonly embedder: string;
  readonly topics: {
    readonly queryId: string;
    readonly kind: string;
    readonly channels: readonly string[];
    readonly docs: number;
  }[];
  readonly score: PlantedScore;
  readonly stats: GapDetectionStats;
  readonly timings: {
    readonly loadSeconds: number;
    readonly indexSeconds: number;
    readonly detectSeconds: number;
  };
}

export async function runGapsEval(
  ds: Dataset,
  opts: {
    settings?: Partial<PlantedGapSettings>;
    onNamespace?: (ns: Namespace) => void;
    onProgress?: (phase: string, done: number, total: number) => void;
    keep?: boolean;
    /** A namespace kept by an earlier run (`--keep`) with the same data: detection only. */
    reuse?: string;
  } = {},
): Promise<GapsEvalReport> {
  const settings = { ...DEFAULT_PLANTED_SETTINGS, ...opts.settings };
  const bench = buildPlantedBenchmark(ds.corpus, ds.qrels, settings);
  const seconds = (t: number) => Number(((performance.now() - t) / 1000).toFixed(2));
  if (opts.reuse) {
    // A namespace an earlier --keep run loaded with the same generator settings: detection only.
    const cfg = namespaceConfig(opts.reuse);
    const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: 2 });
    try {
      // The same messages where this generator puts them (a count alone misses another seed or
      // a generator change that moves documents between channels).
      const stored = await pool.query<{ external_id: string; channel: string; author: string }>(
        "SELECT external_id, channel, author FROM messages WHERE deleted_at IS NULL",
      );
      const placed = new Map(stored.rows.map((r) => [r.external_id, `${r.channel}\u0000${r.author}`]));
      const moved = bench.messages.filter(
        (m) => placed.get(m.external_id) !== `${m.channel}\u0000${m.author}`,
      );
      if (stored.rows.length !== bench.messages.length || moved.length > 0)
        throw new Error(
          `${opts.reuse} holds ${stored.rows.length} messages, the benchmark ${bench.messages.length}, ` +
            `${moved.length} of them elsewhere or by someone else: not this benchmark (seed, settings or generator differ)`,
        );
      return await detectAndScore(
        cfg,
        pool,
        ds,
        bench,
        settings,
        { loadSeconds: 0, indexSeconds: 0 },
        opts.onProgress,
      );
    } finally {
      await pool.end();
    }
  }
  const ns = await startNamespace({
    prefix: "eval",
    label: `gaps-${ds.name}`,
  });
  opts.onNamespace?.(ns);
  const progress = opts.onProgress ?? (() => {});
  try {
    let t = performance.now();
    await loadThroughApi(ns, { type: "beir", name: namespaceSlug(ds.name) }, bench.messages, progress);
    const loadSeconds = seconds(t);
    t = performance.now();
    await waitUntilIndexed(ns, bench.messages.length, 300_000, progress);
    const indexSeconds = seconds(t);
    return await detectAndScore(
      ns.config,
      ns.db.pool,
      ds,
      bench,
      settings,
      { loadSeconds, indexSeconds },
      progress,
    );
  } finally {
    if (opts.keep) await ns.app.stop();
    else await ns.close();
  }
}

/**
 * Removes a namespace an earlier `--keep` run left: its index, collection, queues and database
 * (what startNamespace's close() removes). Missing parts are fine.
 */
export async function dropNamespace(name: string): Promise<void> {
  if (!/^eval-gaps-[a-z0-9-]+$/.test(name)) throw new Error(`${name} is not a gaps-eval namespace`);
  const cfg = namespaceConfig(name);
  // The queue URLs by name (an existing queue is returned as it is, a missing one is created and deleted).
  const queues = await ensureQueues(sqsClient(cfg), cfg.QUEUE_PREFIX);
  const failures = await deleteNamespaceResources(cfg, { queues });
  if (failures.length > 0) throw new Error(`dropping ${name}: ${failures.map(String).join("; ")}`);
  await dropDatabaseOf(cfg.DATABASE_URL);
}

/** The config of a namespace startNamespace created (its resources are all named after it). */
export function namespaceConfig(name: string): Config {
  const base = loadConfig(process.env);
  const url = new URL(base.DATABASE_URL);
  url.pathname = `/trisearch_${name.replace(/-/g, "_")}`;
  return loadConfig({
    ...process.env,
    DATABASE_URL: url.toString(),
    OPENSEARCH_INDEX: name,
    CHROMA_COLLECTION: name,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "ERROR",
  });
}

async function detectAndScore(
  cfg: Config,
  pool: pg.Pool,
  ds: Dataset,
  bench: PlantedBenchmark,
  settings: PlantedGapSettings,
  timings: { loadSeconds: number; indexSeconds: number },
  onProgress?: (phase: string, done: number, total: number) => void,
): Promise<GapsEvalReport> {
  const t = performance.now();
  const c = createContainer(cfg);
  const definition = gapDefinition(cfg);
  const result = await detectGaps(await gapDetectionPorts(c), {
    window: bench.window,
    definition,
    ...(onProgress ? { onProgress } : {}),
  });
  const detectSeconds = Number(((performance.now() - t) / 1000).toFixed(2));
  const ids = await pool.query<{ id: string; external_id: string }>("SELECT id, external_id FROM messages");
  const external = new Map(ids.rows.map((r) => [Number(r.id), r.external_id]));
  return {
    dataset: {
      name: ds.name,
      messages: bench.messages.length,
      channels: new Set(bench.messages.map((m) => m.channel)).size,
    },
    generator: settings,
    selection: bench.selection,
    definition,
    embedder: c.embedder.modelId,
    topics: bench.topics.map((x) => ({
      queryId: x.queryId,
      kind: x.kind,
      channels: x.channels,
      docs: x.docIds.length,
    })),
    score: scorePlanted(bench, result.gaps, (id) => external.get(id)),
    stats: result.stats,
    timings: { ...timings, detectSeconds },
  };
}
