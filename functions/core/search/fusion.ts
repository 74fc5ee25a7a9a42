import type { LegHit, LegName } from "../model";

/**
 * Reciprocal Rank Fusion: score(d) = sum over legs of w_leg / (k + rank_leg(d)), rank 1-based
 * (w = 1 for both legs is the classic RRF; a weight lets a weaker leg add without leading).
 * Only ranks count, so BM25 scores and cosine similarities never need a common scale, and a
 * message found by both legs outranks one found by a single leg at the same ranks
 * (1/61 + 1/62 = 0.0325 > 1/61 = 0.0164; the seed doc misprints the sum as 0.0323).
 */

export const DEFAULT_RRF_K = 60;

/** Each leg's weight in weighted RRF: score(d) = sum over legs of weight_leg / (k + rank_leg(d)). */
export interface LegWeights {
  readonly bm25: number;
  readonly semantic: number;
}

export const EQUAL_WEIGHTS: LegWeights = { bm25: 1, semantic: 1 };

const LEG_NAMES: readonly LegName[] = ["bm25", "semantic"];

export interface FusedHit {
  readonly messageId: number;
  readonly score: number;
  /** 1-based rank in each leg's list, null when the leg did not return the message. */
  readonly ranks: { readonly bm25: number | null; readonly semantic: number | null };
  /** The leg's own score (BM25 score, cosine similarity), null when absent. */
  readonly legScores: { readonly bm25: number | null; readonly semantic: number | null };
  /** What each leg added to `score` (weight / (k + rank)); null when the leg did not return it. */
  readonly contributions?: { readonly bm25: number | null; readonly semantic: number | null };
}

interface Acc {
  messageId: number;
  score: number;
  ranks: { bm25: number | null; semantic: number | null };
  legScores: { bm25: number | null; semantic: number | null };
  contributions: { bm25: number | null; semantic: number | null };
}

function checkWeights(weights: LegWeights): void {
  for (const leg of LEG_NAMES) {
    const w = weights[leg];
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`fusion weight of ${leg} must be >= 0, got ${w}`);
  }
}

/** The running sum for one message, created on its first hit. */
function accumulatorOf(byId: Map<number, Acc>, messageId: number): Acc {
  let acc = byId.get(messageId);
  if (!acc) {
    acc = {
      messageId,
      score: 0,
      ranks: { bm25: null, semantic: null },
      legScores: { bm25: null, semantic: null },
      contributions: { bm25: null, semantic: null },
    };
    byId.set(messageId, acc);
  }
  return acc;
}

/**
 * Fuses the legs' ranked lists (best first). A leg may be missing or empty. A message listed
 * twice by one leg keeps its first (best) rank; ranks are positions in the leg's list as given.
 * Order: score desc, then best rank asc, then messageId asc, so equal inputs give equal output.
 */
export function reciprocalRankFusion(
  legs: Partial<Record<LegName, readonly LegHit[]>>,
  k: number = DEFAULT_RRF_K,
  weights: LegWeights = EQUAL_WEIGHTS,
): FusedHit[] {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`RRF k must be a finite number >= 0, got ${k}`);
  checkWeights(weights);
  const byId = new Map<number, Acc>();
  // Fixed leg order keeps the floating-point sums identical for identical inputs.
  for (const leg of LEG_NAMES) {
    const hits = legs[leg];
    if (!hits) continue;
    hits.forEach((hit, idx) => {
      const acc = accumulatorOf(byId, hit.messageId);
      if (acc.ranks[leg] !== null) return;
      const rank = idx + 1;
      acc.ranks[leg] = rank;
      acc.legScores[leg] = hit.score;
      const contribution = weights[leg] / (k + rank);
      acc.contributions[leg] = contribution;
      acc.score += contribution;
    });
  }
  return [...byId.values()].sort(compareFused);
}

function bestRank(h: FusedHit): number {
  return Math.min(h.ranks.bm25 ?? Number.POSITIVE_INFINITY, h.ranks.semantic ?? Number.POSITIVE_INFINITY);
}

/** Score desc, then best rank asc, then messageId asc. */
export function compareFused(a: FusedHit, b: FusedHit): number {
  if (a.score !== b.score) return b.score - a.score;
  const ra = bestRank(a);
  const rb = bestRank(b);
  if (ra !== rb) return ra - rb;
  return a.messageId - b.messageId;
}

/** Chroma reports cosine distance in [0, 2]; similarity = 1 - distance, in [-1, 1]. */
export function similarityFromCosineDistance(distance: number): number {
  return 1 - distance;
}

/** How hybrid fuses its legs: rank-based RRF, or a convex combination of normalised scores. */
export type FusionMethod = "rrf" | "convex";

/**
 * Scores are normalised over each leg's top hits only, so the scale does not depend on how deep
 * the page asked a leg to go (a leg window is 60 for a 20-result page, 300 for 100).
 */
export const CONVEX_NORMALISATION_DEPTH = 60;

/**
 * Convex combination of min-max normalised scores: score(d) = sum over legs of
 * w_leg / (w_bm25 + w_semantic) * (s_leg(d) - min_leg) / (max_leg - min_leg), min and max over the
 * leg's top CONVEX_NORMALISATION_DEPTH hits (deeper hits clip to 0). Unlike RRF it keeps how far
 * apart the scores are, so a leg that is unsure (flat scores) moves the order less than one with
 * a clear winner; bench/quality.md has the measurements that chose it.
 */
export function convexFusion(
  legs: Partial<Record<LegName, readonly LegHit[]>>,
  weights: LegWeights = EQUAL_WEIGHTS,
): FusedHit[] {
  checkWeights(weights);
  const total = weights.bm25 + weights.semantic;
  const byId = new Map<number, Acc>();
  for (const leg of LEG_NAMES) {
    const hits = legs[leg];
    if (!hits || hits.length === 0) continue;
    const top = hits.slice(0, CONVEX_NORMALISATION_DEPTH).map((h) => h.score);
    const max = Math.max(...top);
    const min = Math.min(...top);
    const share = total > 0 ? weights[leg] / total : 0;
    hits.forEach((hit, idx) => {
      const acc = accumulatorOf(byId, hit.messageId);
      if (acc.ranks[leg] !== null) return;
      acc.ranks[leg] = idx + 1;
      acc.legScores[leg] = hit.score;
      // A leg whose top hits all score the same says nothing about their order: 1 for each.
      const normalised = max > min ? Math.max(0, (hit.score - min) / (max - min)) : 1;
      const contribution = share * normalised;
      acc.contributions[leg] = contribution;
      acc.score += contribution;
    });
  }
  return [...byId.values()].sort(compareFused);
}
