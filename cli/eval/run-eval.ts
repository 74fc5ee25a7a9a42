import { hasQuerySyntax, type IngestItem, searchParams, toIngestItem } from "../../functions/core/eval/beir";
import { type Evaluation, evaluateRun, type QueryScores } from "../../functions/core/eval/metrics";
import { MAX_BATCH } from "../../functions/core/ingest-request";
import type { SearchStrategy } from "../../functions/core/model";
import { MAX_LIMIT } from "../../functions/core/search/search-request";
import { closeClients, openSearchClient, sqsClient } from "../../functions/shared/clients";
import { createContainer } from "../../functions/shared/container";
import { type Namespace, namespaceSlug, startNamespace } from "../../local/namespace";
import { queueDepth } from "../../local/stack/queues";
import { inSync, storeCounts } from "../commands/verify";
import { ANALYZERS, type AnalyzerName } from "./analyzers";
import type { Dataset } from "./dataset";

/**
 * `trisearch eval`: a BEIR collection through the whole product. The corpus goes in through
 * POST /messages (ingest, outbox, queues, workers, both indexes) of an isolated namespace, every
 * query goes out through GET /search, and the rankings are scored against the qrels.
 */

export const ALL_STRATEGIES: readonly SearchStrategy[] = ["bm25", "semantic", "hybrid"];

/** One search configuration to score (variables for the namespace's config, e.g. SEARCH_RRF_K). */
export interface EvalVariant {
  readonly name: string;
  readonly env: Record<string, string>;
}

export interface EvalOptions {
  readonly strategies: readonly SearchStrategy[];
  /** nDCG and MRR cutoff. */
  readonly k: number;
  /** Recall cutoff; also the result depth requested (<= the API's max limit). */
  readonly recallK: number;
  readonly keep?: boolean;
  /** "plain" (default) searches the query's words; "raw" passes the text as our query syntax. */
  readonly queryMode?: "plain" | "raw";
  readonly alwaysTitle?: boolean;
  /** Keyword analyzer to measure (default "message", the product's). */
  readonly analyzer?: AnalyzerName;
  /** Default: one variant with the environment's settings. */
  readonly variants?: readonly EvalVariant[];
  /** Keep every query's ranked ids in the report (large; for offline fusion experiments). */
  readonly keepRankings?: boolean;
  /** Parallel search requests. */
  readonly concurrency?: number;
  /** How long indexing may go without progress before the run fails (default 5 min). */
  readonly indexStallMs?: number;
  /** Environment the namespace starts from (default process.env). */
  readonly baseEnv?: Record<string, string | undefined>;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  /** Called once the namespace exists (the CLI removes it on Ctrl-C). */
  readonly onNamespace?: (ns: Namespace) => void;
}

export interface StrategyResult {
  readonly strategy: SearchStrategy;
  readonly ndcg: number;
  readonly recall: number;
  readonly mrr: number;
  readonly scoredQueries: number;
  /** Queries the API refused or failed (scored as empty rankings). */
  readonly failedQueries: { queryId: string; status: number; error: string }[];
  readonly meanTookMs: number;
  readonly seconds: number;
  readonly perQuery: QueryScores[];
  /** Each query's ranked external ids and scores (only with `keepRankings`: offline fusion studies). */
  readonly rankings?: Record<string, { ids: string[]; scores: number[] }>;
}

interface VariantResult {
  readonly variant: string;
  readonly settings: { rrfK: number; legWindow: number | null };
  readonly strategies: StrategyResult[];
}

export interface EvalReport {
  readonly dataset: {
    readonly name: string;
    readonly documents: number;
    readonly loadedDocuments: number;
    /** Documents without title or text (the API refuses empty content). */
    readonly skippedEmptyDocuments: string[];
    readonly queries: number;
    readonly scoredQueries: number;
    readonly skippedNoRelevant: string[];
    /** Judged queries missing from queries.jsonl. */
    readonly judgedButNoQuery: string[];
    /** Queries whose text held our query syntax (quotes, parentheses, -word, AND/OR/NOT). */
    readonly queriesWithSyntax: string[];
  };
  readonly settings: {
    readonly k: number;
    readonly recallK: number;
    readonly limit: number;
    readonly queryMode: "plain" | "raw";
    readonly alwaysTitle: boolean;
    readonly analyzer: AnalyzerName;
    readonly embedder: string;
  };
  readonly namespace: { readonly name: string; readonly kept: boolean };
  readonly timings: {
    readonly loadSeconds: number;
    readonly indexSeconds: number;
    readonly totalSeconds: number;
  };
  readonly variants: VariantResult[];
}

interface SearchBody {
  took_ms: number;
  results: { external_id: string; score: number }[];
}

/** Tries per corpus batch while the API answers 5xx (a loaded machine times a batch out). */
const LOAD_ATTEMPTS = 5;

const secondsSince = (t: number) => Number(((performance.now() - t) / 1000).toFixed(2));

/**
 * Recreates the namespace's (still empty) index with another analysis, keeping the product's
 * mapping as the adapter creates it, so only the analyzer differs.
 */
async function useAnalyzer(ns: Namespace, analysis: object): Promise<void> {
  const os = openSearchClient(ns.config);
  const index = ns.config.OPENSEARCH_INDEX;
  const keyword = createContainer(ns.config).keywordIndex();
  const created = await os.indices.get({ index });
  const mappings = (created.body as Record<string, { mappings: Record<string, unknown> }>)[index]?.mappings;
  if (!mappings) throw new Error(`index ${index} has no mapping`);
  await keyword.deleteIndex();
  await os.indices.create({
    index,
    body: { settings: { number_of_shards: 1, number_of_replicas: 0, analysis }, mappings },
  });
}

/** No job waiting or in flight on the index queues (so queries do not compete with indexing). */
async function queuesIdle(ns: Namespace): Promise<boolean> {
  const sqs = sqsClient(ns.config);
  const depths = await Promise.all(
    [ns.queues.keyword.url, ns.queues.vector.url].map((url) => queueDepth(sqs, url)),
  );
  return depths.every((d) => d === 0);
}

/** Posts the items through POST /messages of the namespace, in the largest batches it takes. */
export async function loadThroughApi(
  ns: Namespace,
  source: { type: string; name: string },
  items: readonly IngestItem[],
  progress: (phase: string, done: number, total: number) => void = () => {},
): Promise<void> {
  for (let i = 0; i < items.length; i += MAX_BATCH) {
    const res = await ns.api("POST", "/messages", { source, messages: items.slice(i, i + MAX_BATCH) });
    if (res.status !== 202)
      throw new Error(`POST /messages failed: ${res.status} ${JSON.stringify(res.body)}`);
    progress("load", Math.min(i + MAX_BATCH, items.length), items.length);
  }
}

/**
 * Waits until verify's counts agree: every message in both indexes, nothing left in the outbox or
 * queues. Gives up only after `stallMs` without progress (no index count moved): on a loaded
 * machine a 512-token model takes minutes for a collection, which a fixed deadline mistook for a
 * stuck pipeline.
 */
export async function waitUntilIndexed(
  ns: Namespace,
  expected: number,
  stallMs: number,
  progress: (phase: string, done: number, total: number) => void = () => {},
): Promise<void> {
  const c = createContainer(ns.config);
  let last = "";
  let deadline = Date.now() + stallMs;
  for (;;) {
    const counts = await storeCounts(c);
    progress("index", Math.min(counts.opensearch, counts.chroma), expected);
    if (inSync(counts) && counts.postgres === expected && (await queuesIdle(ns))) return;
    const seen = JSON.stringify(counts);
    if (seen !== last) {
      last = seen;
      deadline = Date.now() + stallMs;
    }
    if (Date.now() > deadline) {
      throw new Error(`indexing made no progress for ${stallMs / 1000} s: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `work` over items with at most `n` in flight, in order of start. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export async function runEval(ds: Dataset, opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const limit = Math.max(opts.k, opts.recallK);
  if (limit > MAX_LIMIT)
    throw new RangeError(`cutoffs above ${MAX_LIMIT} need more results than one search returns`);
  const queryMode = opts.queryMode ?? "plain";
  const progress = opts.onProgress ?? (() => {});

  const items = ds.corpus.map((d) => ({ doc: d, item: toIngestItem(d, { alwaysTitle: opts.alwaysTitle }) }));
  const loadable = items.flatMap((x) => (x.item ? [x.item] : []));
  const skippedEmptyDocuments = items.filter((x) => !x.item).map((x) => x.doc.id);
  const queryIds = new Set(ds.queries.map((q) => q.id));
  // Only queries that are both asked and judged can be scored.
  const qrels = new Map([...ds.qrels].filter(([q]) => queryIds.has(q)));
  const judgedButNoQuery = [...ds.qrels.keys()].filter((q) => !queryIds.has(q));
  const queries = ds.queries.filter((q) => qrels.has(q.id));

  const ns = await startNamespace({
    prefix: "eval",
    label: ds.name,
    ...(opts.baseEnv ? { baseEnv: opts.baseEnv } : {}),
    // The namespace leaves the reconciler to runOnce(): a scheduled run would take documents still
    // in the queues for drift and enqueue them again (doubling the embedding work).
  });
  opts.onNamespace?.(ns);
  try {
    if (opts.analyzer && opts.analyzer !== "message") await useAnalyzer(ns, ANALYZERS[opts.analyzer]);
    // Load through the public API, in the largest batches it takes.
    const t0 = performance.now();
    await loadThroughApi(ns, { type: "beir", name: namespaceSlug(ds.name) }, loadable, progress);
    const loadSeconds = secondsSince(t0);
    const t1 = performance.now();
    const c = createContainer(ns.config);
    await waitUntilIndexed(ns, loadable.length, opts.indexStallMs ?? 300_000, progress);
    const indexSeconds = secondsSince(t1);

    const variants: VariantResult[] = [];
    const variantList = opts.variants?.length ? opts.variants : [{ name: "default", env: {} }];
    for (const [vi, variant] of variantList.entries()) {
      if (vi > 0 || Object.keys(variant.env).length > 0) await ns.reconfigure(variant.env);
      const strategies: StrategyResult[] = [];
      for (const strategy of opts.strategies) {
        const t = performance.now();
        const run = new Map<string, string[]>();
        const rankings: Record<string, { ids: string[]; scores: number[] }> = {};
        const failedQueries: StrategyResult["failedQueries"] = [];
        let took = 0;
        let done = 0;
        await pool(queries, opts.concurrency ?? 4, async (q) => {
          const params = searchParams(q, strategy, limit, queryMode);
          let res = await ns.api("GET", `/search?${params}`);
          // A search that timed out on a busy machine says nothing about relevance: ask again.
          for (let attempt = 1; res.status >= 500 && attempt < LOAD_ATTEMPTS; attempt++) {
            await new Promise((r) => setTimeout(r, 500 * attempt));
            res = await ns.api("GET", `/search?${params}`);
          }
          if (res.status === 200) {
            const body = res.body as SearchBody;
            run.set(
              q.id,
              body.results.map((r) => r.external_id),
            );
            if (opts.keepRankings)
              rankings[q.id] = {
                ids: body.results.map((r) => r.external_id),
                scores: body.results.map((r) => r.score),
              };
            took += body.took_ms;
          } else {
            failedQueries.push({
              queryId: q.id,
              status: res.status,
              error: JSON.stringify(res.body).slice(0, 300),
            });
          }
          progress(`query ${variant.name} ${strategy}`, ++done, queries.length);
        });
        const scored: Evaluation = evaluateRun(qrels, run, { k: opts.k, recallK: opts.recallK });
        strategies.push({
          strategy,
          ndcg: scored.ndcg,
          recall: scored.recall,
          mrr: scored.mrr,
          scoredQueries: scored.perQuery.length,
          failedQueries,
          meanTookMs: Number((took / Math.max(1, run.size)).toFixed(1)),
          seconds: secondsSince(t),
          perQuery: scored.perQuery,
          ...(opts.keepRankings ? { rankings } : {}),
        });
      }
      variants.push({
        variant: variant.name,
        settings: { rrfK: ns.config.SEARCH_RRF_K, legWindow: ns.config.SEARCH_LEG_WINDOW ?? null },
        strategies,
      });
    }

    const anyEval = evaluateRun(qrels, new Map(), { k: opts.k, recallK: opts.recallK });
    return {
      dataset: {
        name: ds.name,
        documents: ds.corpus.length,
        loadedDocuments: loadable.length,
        skippedEmptyDocuments,
        queries: ds.queries.length,
        scoredQueries: anyEval.perQuery.length,
        skippedNoRelevant: anyEval.skippedNoRelevant,
        judgedButNoQuery,
        queriesWithSyntax: queries.filter((q) => hasQuerySyntax(q.text)).map((q) => q.id),
      },
      settings: {
        k: opts.k,
        recallK: opts.recallK,
        limit,
        queryMode,
        alwaysTitle: Boolean(opts.alwaysTitle),
        analyzer: opts.analyzer ?? "message",
        embedder: c.embedder.modelId,
      },
      namespace: { name: ns.name, kept: Boolean(opts.keep) },
      timings: { loadSeconds, indexSeconds, totalSeconds: secondsSince(started) },
      variants,
    };
  } finally {
    if (opts.keep) {
      // Keep the data; stop only what would hold the process open.
      await ns.app.stop();
      await closeClients();
      await ns.db.pool.end();
    } else {
      await ns.close();
    }
  }
}
