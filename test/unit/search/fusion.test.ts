import { describe, expect, it } from "vitest";
import type { LegHit } from "../../../functions/core/model";
import {
  CONVEX_NORMALISATION_DEPTH,
  compareFused,
  convexFusion,
  DEFAULT_RRF_K,
  reciprocalRankFusion,
  similarityFromCosineDistance,
} from "../../../functions/core/search/fusion";

const hits = (...ids: number[]): LegHit[] => ids.map((messageId, i) => ({ messageId, score: 10 - i }));

describe("reciprocalRankFusion", () => {
  it("reproduces the seed example: 5 in both legs ranks first with 1/61 + 1/62", () => {
    const fused = reciprocalRankFusion({
      bm25: [
        { messageId: 5, score: 2.8 },
        { messageId: 12, score: 2.1 },
      ],
      semantic: [
        { messageId: 8, score: 0.85 },
        { messageId: 5, score: 0.79 },
      ],
    });
    expect(fused.map((h) => h.messageId)).toEqual([5, 8, 12]);
    const [five, eight, twelve] = fused;
    expect(five!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    // The seed doc prints 0.0323, but its own formula 1/61 + 1/62 is 0.03252 (0.0323 would be
    // 2/62, i.e. rank 2 in both legs): we implement the formula, the printed sum is a slip.
    expect(five!.score).toBeCloseTo(0.0325225, 6);
    expect(five!.score.toFixed(4)).toBe("0.0325");
    expect(eight!.score).toBeCloseTo(1 / 61, 12);
    expect(eight!.score.toFixed(4)).toBe("0.0164");
    expect(twelve!.score).toBeCloseTo(1 / 62, 12);
    expect(twelve!.score.toFixed(4)).toBe("0.0161");
    expect(five).toEqual({
      messageId: 5,
      score: five!.score,
      ranks: { bm25: 1, semantic: 2 },
      legScores: { bm25: 2.8, semantic: 0.79 },
      contributions: { bm25: 1 / 61, semantic: 1 / 62 },
    });
    expect(eight!.ranks).toEqual({ bm25: null, semantic: 1 });
    expect(eight!.legScores).toEqual({ bm25: null, semantic: 0.85 });
    expect(twelve!.ranks).toEqual({ bm25: 2, semantic: null });
  });

  it("defaults k to 60 and honours another k", () => {
    expect(DEFAULT_RRF_K).toBe(60);
    const fused = reciprocalRankFusion({ bm25: hits(1, 2) }, 10);
    expect(fused[0]!.score).toBeCloseTo(1 / 11, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 12, 12);
  });

  it("keeps a single leg's order", () => {
    const fused = reciprocalRankFusion({ semantic: hits(9, 3, 7) });
    expect(fused.map((h) => h.messageId)).toEqual([9, 3, 7]);
    expect(fused.map((h) => h.ranks.semantic)).toEqual([1, 2, 3]);
    expect(fused.every((h) => h.ranks.bm25 === null && h.legScores.bm25 === null)).toBe(true);
  });

  it("returns nothing for missing or empty legs", () => {
    expect(reciprocalRankFusion({})).toEqual([]);
    expect(reciprocalRankFusion({ bm25: [], semantic: [] })).toEqual([]);
    expect(reciprocalRankFusion({ bm25: hits(4), semantic: [] }).map((h) => h.messageId)).toEqual([4]);
  });

  it("ranks a message found by both legs above one found by a single leg at the same ranks", () => {
    // 1 is rank 1 in bm25 and rank 3 in semantic; 2 is rank 1 in semantic only.
    const fused = reciprocalRankFusion({ bm25: hits(1, 3), semantic: hits(2, 4, 1) });
    expect(fused[0]!.messageId).toBe(1);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 63, 12);
    expect(fused[1]!.messageId).toBe(2);
  });

  it("breaks ties deterministically: best rank, then messageId", () => {
    // 7 and 3 are both rank 1 in one leg: equal scores, equal best rank -> lower id first.
    const a = reciprocalRankFusion({ bm25: hits(7), semantic: hits(3) });
    const b = reciprocalRankFusion({ semantic: hits(3), bm25: hits(7) });
    expect(a.map((h) => h.messageId)).toEqual([3, 7]);
    expect(b).toEqual(a);
    expect(a[0]!.score).toBe(a[1]!.score);

    // Equal scores, different best rank: the better rank wins over the lower id.
    const tie = [
      {
        messageId: 1,
        score: 0.5,
        ranks: { bm25: 4, semantic: null },
        legScores: { bm25: 1, semantic: null },
      },
      { messageId: 2, score: 0.5, ranks: { bm25: 9, semantic: 2 }, legScores: { bm25: 1, semantic: 1 } },
    ];
    expect([...tie].sort(compareFused).map((h) => h.messageId)).toEqual([2, 1]);
    // Swapping the legs of symmetric inputs gives the same sums.
    const s1 = reciprocalRankFusion({ bm25: hits(1, 2), semantic: hits(2, 1) });
    expect(s1[0]!.score).toBe(s1[1]!.score);
    expect(s1.map((h) => h.messageId)).toEqual([1, 2]);
  });

  it("keeps the first (best) rank of a duplicate within one leg", () => {
    const fused = reciprocalRankFusion({ bm25: [...hits(5, 6), { messageId: 5, score: 0.1 }] });
    expect(fused).toHaveLength(2);
    const five = fused.find((h) => h.messageId === 5)!;
    expect(five.ranks.bm25).toBe(1);
    expect(five.legScores.bm25).toBe(10);
    expect(five.score).toBeCloseTo(1 / 61, 12);
  });

  it("rejects a negative or non-finite k", () => {
    expect(() => reciprocalRankFusion({ bm25: hits(1) }, -1)).toThrow(RangeError);
    expect(() => reciprocalRankFusion({ bm25: hits(1) }, Number.NaN)).toThrow(RangeError);
  });
});

describe("weighted reciprocalRankFusion", () => {
  it("multiplies each leg's 1/(k + rank) by its weight and reports each contribution", () => {
    const fused = reciprocalRankFusion({ bm25: hits(1, 2), semantic: hits(2, 3) }, 60, {
      bm25: 2,
      semantic: 0.5,
    });
    const byId = new Map(fused.map((h) => [h.messageId, h]));
    expect(byId.get(1)!.score).toBeCloseTo(2 / 61, 12);
    expect(byId.get(2)!.score).toBeCloseTo(2 / 62 + 0.5 / 61, 12);
    expect(byId.get(2)!.contributions).toEqual({ bm25: 2 / 62, semantic: 0.5 / 61 });
    expect(byId.get(3)!.contributions).toEqual({ bm25: null, semantic: 0.5 / 62 });
    expect(fused.map((h) => h.messageId)).toEqual([2, 1, 3]);
  });

  it("lets a heavier leg keep its order where the other leg disagrees", () => {
    // bm25 says 1 > 2; semantic says 2 > 1 and also finds 3. Equal weights tie 1 and 2 (broken by
    // best rank); bm25 at 2x keeps bm25's order, semantic at 2x flips it.
    const legs = { bm25: hits(1, 2), semantic: hits(2, 1, 3) };
    expect(reciprocalRankFusion(legs, 60, { bm25: 2, semantic: 1 }).map((h) => h.messageId)).toEqual([
      1, 2, 3,
    ]);
    expect(reciprocalRankFusion(legs, 60, { bm25: 1, semantic: 2 }).map((h) => h.messageId)).toEqual([
      2, 1, 3,
    ]);
  });

  it("a zero weight leaves that leg's hits in the list without moving the order", () => {
    const fused = reciprocalRankFusion({ bm25: hits(4, 5), semantic: hits(6, 5) }, 60, {
      bm25: 1,
      semantic: 0,
    });
    expect(fused.map((h) => h.messageId)).toEqual([4, 5, 6]);
    expect(fused[2]!.score).toBe(0);
  });

  it("equal weights of 1 are the classic RRF", () => {
    const legs = { bm25: hits(1, 2, 3), semantic: hits(3, 1) };
    expect(reciprocalRankFusion(legs, 60, { bm25: 1, semantic: 1 })).toEqual(reciprocalRankFusion(legs, 60));
  });

  it("rejects a negative or non-finite weight", () => {
    expect(() => reciprocalRankFusion({}, 60, { bm25: -1, semantic: 1 })).toThrow(RangeError);
    expect(() => reciprocalRankFusion({}, 60, { bm25: 1, semantic: Number.NaN })).toThrow(RangeError);
  });
});

describe("convexFusion", () => {
  const scored = (...pairs: [number, number][]): LegHit[] =>
    pairs.map(([messageId, score]) => ({ messageId, score }));

  it("min-max normalises each leg and mixes them by weight share", () => {
    const fused = convexFusion(
      { bm25: scored([1, 10], [2, 6], [3, 2]), semantic: scored([2, 0.9], [4, 0.5]) },
      { bm25: 0.6, semantic: 0.4 },
    );
    const byId = new Map(fused.map((h) => [h.messageId, h]));
    expect(byId.get(1)!.score).toBeCloseTo(0.6, 12);
    expect(byId.get(2)!.contributions).toEqual({ bm25: 0.6 * 0.5, semantic: 0.4 });
    expect(byId.get(2)!.score).toBeCloseTo(0.7, 12);
    expect(byId.get(3)!.score).toBe(0);
    expect(byId.get(4)!.score).toBe(0);
    // 3 and 4 tie at 0: the better rank (4 is second in its leg, 3 third) goes first.
    expect(fused.map((h) => h.messageId)).toEqual([2, 1, 4, 3]);
  });

  it("keeps score gaps that ranks lose: a clear bm25 winner beats a semantic near-tie", () => {
    const legs = { bm25: scored([1, 20], [2, 2], [3, 1]), semantic: scored([2, 0.81], [1, 0.8], [3, 0.1]) };
    expect(convexFusion(legs, { bm25: 1, semantic: 1 })[0]!.messageId).toBe(1);
    // RRF sees only ranks (1st and 2nd in each leg) and ties them: the best rank decides.
    const rrf = reciprocalRankFusion(legs, 60);
    expect(rrf[0]!.score).toBe(rrf[1]!.score);
  });

  it("a leg with equal scores counts 1 for each of its hits; deep hits clip to 0", () => {
    const deep = Array.from({ length: CONVEX_NORMALISATION_DEPTH + 5 }, (_, i): [number, number] => [
      i + 1,
      100 - i,
    ]);
    const fused = convexFusion({ bm25: scored(...deep), semantic: scored([7, 0.5], [8, 0.5]) });
    const byId = new Map(fused.map((h) => [h.messageId, h]));
    expect(byId.get(7)!.contributions!.semantic).toBe(0.5);
    expect(byId.get(CONVEX_NORMALISATION_DEPTH + 5)!.contributions!.bm25).toBe(0);
  });

  it("rejects a negative weight", () => {
    expect(() => convexFusion({}, { bm25: -1, semantic: 1 })).toThrow(RangeError);
  });
});

describe("similarityFromCosineDistance", () => {
  it("is 1 - distance", () => {
    expect(similarityFromCosineDistance(0)).toBe(1);
    expect(similarityFromCosineDistance(0.25)).toBe(0.75);
    expect(similarityFromCosineDistance(1)).toBe(0);
    expect(similarityFromCosineDistance(2)).toBe(-1);
  });
});
