import type { SearchStrategy } from "../../functions/core/model";
import { parseFlags } from "../args";
import { ANALYZERS, isAnalyzerName } from "../eval/analyzers";
import { readDataset, subsetDataset } from "../eval/dataset";
import { writeReport } from "../eval/report-file";
import { ALL_STRATEGIES, type EvalReport, type EvalVariant, runEval } from "../eval/run-eval";
import { createProgress, formatTable, type Progress } from "../progress";

export const summary = "Relevance of bm25, semantic and hybrid on a BEIR test collection (nDCG, Recall, MRR)";

const HELP = `Usage: trisearch eval --dataset DIR [options]

Loads a BEIR collection (corpus.jsonl, queries.jsonl, qrels/<split>.tsv; each may be .gz) into
an isolated namespace (own database, queues, OpenSearch index and Chroma collection) through
POST /messages, waits until the stores agree (verify), runs every query through GET /search for
each strategy, and prints nDCG@k, Recall@recall-k and MRR@k (trec_eval conventions).
The namespace is removed afterwards unless --keep.

  --dataset DIR        the collection (e.g. test/fixtures/cranfield)
  --strategies LIST    comma list of bm25, semantic, hybrid (default: all three)
  --k N                nDCG and MRR cutoff (default 10)
  --recall-k N         Recall cutoff and result depth, at most 100 (default 100)
  --split NAME         qrels file (default test)
  --json FILE          write the full report (per-query scores included) as JSON
  --rankings           include every query's ranked ids in the JSON report (offline fusion studies)
  --keep               keep the namespace (prints its settings)
  --rrf-k LIST         SEARCH_RRF_K value(s): a comma list scores each (default: the config's)
  --leg-window LIST    SEARCH_LEG_WINDOW value(s), likewise (default: max(3 x limit, 50))
  --vary SPEC          other search-time settings to score, e.g.
                       "SEARCH_BM25_WEIGHT=1,2;CONTEXT_KEYWORD_BOOST=0.3,1": every combination
  --query-mode MODE    plain (default): the query's words only; raw: our query syntax as typed
  --analyzer NAME      keyword analyzer to measure: message (the product's, default), english,
                       kstem, nostem (cli/eval/analyzers.ts)
  --always-title       prepend the title even when the text starts with it
  --docs N             only the first N documents and the queries fully judged within them
  --concurrency N      parallel searches (default 4)`;

const list = (v: string | boolean | undefined): string[] =>
  typeof v === "string"
    ? v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : [];

function positiveInt(name: string, v: string | boolean | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
  return n;
}

/** "A=1,2;B=x" -> [["A", ["1","2"]], ["B", ["x"]]]. */
export function parseVary(spec: string): [string, string[]][] {
  return spec
    .split(";")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf("=");
      if (eq <= 0) throw new Error(`--vary: "${part}" is not KEY=v1,v2`);
      return [part.slice(0, eq).trim(), list(part.slice(eq + 1))] as [string, string[]];
    });
}

/** Every combination of the listed settings; none listed = the config's own. */
export function variantsOf(settings: readonly [string, string[]][]): EvalVariant[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of settings) {
    if (values.length === 0) continue;
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  const short: Record<string, string> = { SEARCH_RRF_K: "k", SEARCH_LEG_WINDOW: "window" };
  return combos.map((env) => ({
    name:
      Object.entries(env)
        .map(([k, v]) => `${short[k] ?? k}=${v}`)
        .join(" ") || "default",
    env,
  }));
}

const f3 = (x: number) => x.toFixed(4);

export function reportTable(r: EvalReport): string {
  const { k, recallK } = r.settings;
  const rows = r.variants.flatMap((v) =>
    v.strategies.map((s) => ({
      ...(r.variants.length > 1 ? { variant: v.variant } : {}),
      strategy: s.strategy,
      [`nDCG@${k}`]: f3(s.ndcg),
      [`Recall@${recallK}`]: f3(s.recall),
      [`MRR@${k}`]: f3(s.mrr),
      queries: s.scoredQueries,
      failed: s.failedQueries.length,
      "ms/query": s.meanTookMs,
    })),
  );
  return formatTable(rows);
}

/** "hybrid nDCG@10 0.xxxx vs best single leg (bm25) 0.yyyy: +0.zzzz" per variant, when all three ran. */
export function hybridVerdicts(r: EvalReport): string[] {
  return r.variants.flatMap((v) => {
    const by = new Map(v.strategies.map((s) => [s.strategy, s]));
    const hybrid = by.get("hybrid");
    const legs = [by.get("bm25"), by.get("semantic")].filter((s) => s !== undefined);
    if (!hybrid || legs.length < 2) return [];
    const best = legs.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
    const delta = hybrid.ndcg - best.ndcg;
    return [
      `${v.variant}: hybrid nDCG@${r.settings.k} ${f3(hybrid.ndcg)} vs best single leg (${best.strategy}) ${f3(best.ndcg)}: ${delta >= 0 ? "+" : ""}${f3(delta)}`,
    ];
  });
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {
      dataset: { type: "string" },
      strategies: { type: "string" },
      k: { type: "string" },
      "recall-k": { type: "string" },
      split: { type: "string" },
      json: { type: "string" },
      keep: { type: "boolean" },
      rankings: { type: "boolean" },
      "rrf-k": { type: "string" },
      "leg-window": { type: "string" },
      vary: { type: "string" },
      "query-mode": { type: "string" },
      "always-title": { type: "boolean" },
      analyzer: { type: "string" },
      docs: { type: "string" },
      concurrency: { type: "string" },
    },
    HELP,
  );
  if (!flags) return 0;
  const v = flags.values;
  if (typeof v.dataset !== "string") {
    console.error(`--dataset is required.\n\n${HELP}`);
    return 2;
  }
  const strategies = list(v.strategies);
  const unknown = strategies.filter((s) => !ALL_STRATEGIES.includes(s as SearchStrategy));
  if (unknown.length > 0) {
    console.error(`Unknown strategies: ${unknown.join(", ")} (use bm25, semantic, hybrid).`);
    return 2;
  }
  const queryMode = v["query-mode"] ?? "plain";
  if (queryMode !== "plain" && queryMode !== "raw") {
    console.error(`--query-mode must be plain or raw, got ${String(queryMode)}.`);
    return 2;
  }

  const analyzer = typeof v.analyzer === "string" ? v.analyzer : "message";
  if (!isAnalyzerName(analyzer)) {
    console.error(`Unknown analyzer "${analyzer}" (use ${Object.keys(ANALYZERS).join(", ")}).`);
    return 2;
  }

  let dataset = await readDataset(v.dataset, typeof v.split === "string" ? v.split : "test");
  if (v.docs !== undefined) dataset = subsetDataset(dataset, positiveInt("docs", v.docs, 0));
  console.error(
    `Dataset ${dataset.name}: ${dataset.corpus.length} documents, ${dataset.queries.length} queries, ${dataset.qrels.size} judged queries.`,
  );

  const bars = new Map<string, Progress>();
  let cleanup: (() => Promise<void>) | undefined;
  const onSigint = () => {
    console.error("\nInterrupted: removing the namespace...");
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSigint);
  try {
    const report = await runEval(dataset, {
      strategies: strategies.length > 0 ? (strategies as SearchStrategy[]) : ALL_STRATEGIES,
      k: positiveInt("k", v.k, 10),
      recallK: positiveInt("recall-k", v["recall-k"], 100),
      keep: Boolean(v.keep),
      keepRankings: Boolean(v.rankings),
      queryMode,
      alwaysTitle: Boolean(v["always-title"]),
      analyzer,
      variants: variantsOf([
        ["SEARCH_RRF_K", list(v["rrf-k"])],
        ["SEARCH_LEG_WINDOW", list(v["leg-window"])],
        ...(typeof v.vary === "string" ? parseVary(v.vary) : []),
      ]),
      concurrency: positiveInt("concurrency", v.concurrency, 4),
      onNamespace: (ns) => {
        cleanup = v.keep ? undefined : () => ns.close();
      },
      onProgress: (phase, done, total) => {
        let bar = bars.get(phase);
        if (!bar) {
          bar = createProgress(phase.padEnd(24), { total });
          bars.set(phase, bar);
        }
        if (done >= total) {
          bar.finish();
          bars.delete(phase);
          // A finished phase may report again (index polling): keep it finished.
          bars.set(phase, { update: () => {}, finish: () => {} });
        } else bar.update(done, total);
      },
    });
    console.log(`\n${reportTable(report)}\n`);
    for (const line of hybridVerdicts(report)) console.log(line);
    const d = report.dataset;
    console.log(
      `\n${d.loadedDocuments}/${d.documents} documents loaded (${d.skippedEmptyDocuments.length} empty skipped) in ${report.timings.loadSeconds}s, indexed in ${report.timings.indexSeconds}s; ` +
        `${d.scoredQueries} queries scored (${d.skippedNoRelevant.length} without relevant documents skipped); total ${report.timings.totalSeconds}s.`,
    );
    if (report.namespace.kept) {
      const n = report.namespace.name;
      console.log(
        `Kept namespace ${n}: DATABASE_URL=.../trisearch_${n.replace(/-/g, "_")} OPENSEARCH_INDEX=${n} CHROMA_COLLECTION=${n} QUEUE_PREFIX=${n}`,
      );
    }
    if (typeof v.json === "string") await writeReport(v.json, report);
    const failed = report.variants.some((x) => x.strategies.some((s) => s.failedQueries.length > 0));
    return failed ? 1 : 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}
