/**
 * Ranking metrics with trec_eval's conventions (ndcg_cut, recall, recip_rank):
 * - gains are the judged grades as given (graded or binary); unjudged and grade <= 0 gain 0;
 * - a document counts as relevant (Recall, MRR) when its grade is >= 1;
 * - DCG@k = sum over ranks i = 1..k of gain_i / log2(i + 1); the ideal DCG takes every judged
 *   document of the query, sorted by grade, cut at k;
 * - a ranking lists each document once: later duplicates are dropped before cutting;
 * - queries without any relevant document cannot be scored and are skipped (and counted);
 *   a scored query with no results scores 0 (trec_eval -c).
 * The ranking is taken in the order given (the API's order), not re-sorted by score.
 */

/** Judged grades of one query: document id -> grade. */
export type Judgments = ReadonlyMap<string, number>;

/** query id -> judgments. */
export type Qrels = ReadonlyMap<string, Judgments>;

/** query id -> ranked document ids, best first. */
export type Run = ReadonlyMap<string, readonly string[]>;

/** The grade from which a judged document counts as relevant (trec_eval's relevance_level). */
const RELEVANCE_LEVEL = 1;

/** First occurrence of each document, order kept. */
export function dedupe(ranking: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const doc of ranking) {
    if (seen.has(doc)) continue;
    seen.add(doc);
    out.push(doc);
  }
  return out;
}

function gain(judgments: Judgments, doc: string): number {
  const g = judgments.get(doc) ?? 0;
  return Math.max(g, 0);
}

function assertCutoff(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`cutoff must be an integer >= 1, got ${k}`);
}

/** Number of judged documents with grade >= RELEVANCE_LEVEL. */
function relevantCount(judgments: Judgments): number {
  let n = 0;
  for (const g of judgments.values()) if (g >= RELEVANCE_LEVEL) n++;
  return n;
}

/** DCG@k of gains listed best first. */
function dcg(gains: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 0; i < Math.min(k, gains.length); i++) sum += gains[i]! / Math.log2(i + 2);
  return sum;
}

/** nDCG@k; null when the query has no positive judgment (no ideal ranking to compare with). */
export function ndcgAt(ranking: readonly string[], judgments: Judgments, k: number): number | null {
  assertCutoff(k);
  const ideal = [...judgments.values()].filter((g) => g > 0).sort((a, b) => b - a);
  const idcg = dcg(ideal, k);
  if (idcg === 0) return null;
  const gains = dedupe(ranking)
    .slice(0, k)
    .map((d) => gain(judgments, d));
  return dcg(gains, k) / idcg;
}

/** Recall@k: relevant documents in the top k over all relevant documents; null when there are none. */
export function recallAt(ranking: readonly string[], judgments: Judgments, k: number): number | null {
  assertCutoff(k);
  const total = relevantCount(judgments);
  if (total === 0) return null;
  const found = dedupe(ranking)
    .slice(0, k)
    .filter((d) => (judgments.get(d) ?? 0) >= RELEVANCE_LEVEL).length;
  return found / total;
}

/** Reciprocal rank of the first relevant document within the top k (0 if none); null when none exist. */
export function reciprocalRankAt(ranking: readonly string[], judgments: Judgments, k: number): number | null {
  assertCutoff(k);
  if (relevantCount(judgments) === 0) return null;
  const top = dedupe(ranking).slice(0, k);
  const idx = top.findIndex((d) => (judgments.get(d) ?? 0) >= RELEVANCE_LEVEL);
  return idx === -1 ? 0 : 1 / (idx + 1);
}

export interface Cutoffs {
  /** nDCG and MRR cutoff (10 in BEIR). */
  readonly k: number;
  /** Recall cutoff (100 in BEIR). */
  readonly recallK: number;
}

export interface QueryScores {
  readonly queryId: string;
  readonly ndcg: number;
  readonly recall: number;
  readonly mrr: number;
}

export interface Evaluation {
  readonly cutoffs: Cutoffs;
  /** Means over the scored queries (0 when none). */
  readonly ndcg: number;
  readonly recall: number;
  readonly mrr: number;
  readonly perQuery: QueryScores[];
  /** Queries in the qrels without a relevant document: not scored. */
  readonly skippedNoRelevant: string[];
}

/**
 * Scores a run against qrels. Every query in `qrels` with a relevant document is scored; one
 * missing from the run scores 0. Queries only in the run are ignored (nothing to judge them by).
 */
export function evaluateRun(qrels: Qrels, run: Run, cutoffs: Cutoffs): Evaluation {
  const perQuery: QueryScores[] = [];
  const skippedNoRelevant: string[] = [];
  for (const [queryId, judgments] of qrels) {
    const ranking = run.get(queryId) ?? [];
    const ndcg = ndcgAt(ranking, judgments, cutoffs.k);
    const recall = recallAt(ranking, judgments, cutoffs.recallK);
    const mrr = reciprocalRankAt(ranking, judgments, cutoffs.k);
    if (ndcg === null || recall === null || mrr === null) {
      skippedNoRelevant.push(queryId);
      continue;
    }
    perQuery.push({ queryId, ndcg, recall, mrr });
  }
  const mean = (f: (q: QueryScores) => number) =>
    perQuery.length === 0 ? 0 : perQuery.reduce((s, q) => s + f(q), 0) / perQuery.length;
  return {
    cutoffs,
    ndcg: mean((q) => q.ndcg),
    recall: mean((q) => q.recall),
    mrr: mean((q) => q.mrr),
    perQuery,
    skippedNoRelevant,
  };
}
