import { describe, expect, it } from "vitest";
import {
  dedupe,
  evaluateRun,
  type Judgments,
  ndcgAt,
  recallAt,
  reciprocalRankAt,
} from "../../functions/core/eval/metrics";

const judged = (entries: Record<string, number>): Judgments => new Map(Object.entries(entries));

describe("eval metrics (trec_eval conventions), hand-computed", () => {
  describe("binary relevance: relevant a, b, c; ranking x a y b", () => {
    const j = judged({ a: 1, b: 1, c: 1 });
    const ranking = ["x", "a", "y", "b"];

    it("nDCG@10 = (1/log2 3 + 1/log2 5) / (1 + 1/log2 3 + 1/log2 4)", () => {
      // DCG 0.630930 + 0.430677 = 1.061606; ideal 1 + 0.630930 + 0.5 = 2.130930
      expect(ndcgAt(ranking, j, 10)).toBeCloseTo(0.498189, 6);
      // @1: x is not relevant
      expect(ndcgAt(ranking, j, 1)).toBe(0);
    });

    it("Recall@k counts relevant in the top k over all relevant (c is never found)", () => {
      expect(recallAt(ranking, j, 100)).toBeCloseTo(2 / 3, 12);
      expect(recallAt(ranking, j, 3)).toBeCloseTo(1 / 3, 12);
      expect(recallAt(ranking, j, 1)).toBe(0);
    });

    it("MRR@k is 1/rank of the first relevant within k, else 0", () => {
      expect(reciprocalRankAt(ranking, j, 10)).toBe(0.5);
      expect(reciprocalRankAt(ranking, j, 1)).toBe(0);
    });

    it("a perfect ranking scores 1 everywhere", () => {
      expect(ndcgAt(["a", "b", "c"], j, 10)).toBeCloseTo(1, 12);
      expect(recallAt(["c", "b", "a"], j, 3)).toBe(1);
      expect(reciprocalRankAt(["b"], j, 10)).toBe(1);
    });
  });

  describe("graded relevance: a=3, b=2, c=1, d=0; ranking b d a e", () => {
    const j = judged({ a: 3, b: 2, c: 1, d: 0 });
    const ranking = ["b", "d", "a", "e"];

    it("nDCG@3 uses the grades as gains; the ideal takes every judged document (c included)", () => {
      // DCG = 2/1 + 0/log2 3 + 3/log2 4 = 3.5; ideal = 3 + 2/log2 3 + 1/2 = 4.761860
      expect(ndcgAt(ranking, j, 3)).toBeCloseTo(0.735007, 6);
      // The ideal is cut at k too: @1 = 2/3
      expect(ndcgAt(ranking, j, 1)).toBeCloseTo(2 / 3, 12);
    });

    it("grade 0 is judged but not relevant: Recall = 2/3, RR counts b (grade 2)", () => {
      expect(recallAt(ranking, j, 100)).toBeCloseTo(2 / 3, 12);
      expect(reciprocalRankAt(ranking, j, 10)).toBe(1);
      expect(reciprocalRankAt(["d", "e", "c"], j, 10)).toBeCloseTo(1 / 3, 12);
    });

    it("negative grades gain nothing", () => {
      const neg = judged({ a: -1, b: 2 });
      // DCG = 0 + 2/log2 3, ideal = 2
      expect(ndcgAt(["a", "b"], neg, 10)).toBeCloseTo(1 / Math.log2(3), 12);
    });
  });

  it("duplicates in a ranking are ignored (first occurrence kept) before cutting at k", () => {
    expect(dedupe(["a", "a", "b", "a", "c"])).toEqual(["a", "b", "c"]);
    const j = judged({ b: 1 });
    expect(reciprocalRankAt(["a", "a", "b"], j, 2)).toBe(0.5);
    expect(ndcgAt(["a", "a", "b"], j, 2)).toBeCloseTo(1 / Math.log2(3), 12);
    expect(recallAt(["b", "b"], judged({ b: 1, c: 1 }), 100)).toBe(0.5);
  });

  it("queries without a relevant document cannot be scored", () => {
    const j = judged({ a: 0 });
    expect(ndcgAt(["a"], j, 10)).toBeNull();
    expect(recallAt(["a"], j, 10)).toBeNull();
    expect(reciprocalRankAt(["a"], j, 10)).toBeNull();
  });

  it("evaluateRun: means over scored queries, skips and lists unjudgeable ones, missing runs score 0", () => {
    const qrels = new Map<string, Judgments>([
      ["q1", judged({ a: 1 })],
      ["q2", judged({ b: 2, c: 1 })],
      ["q3", judged({ z: 0 })],
      ["q4", judged({ d: 1 })],
    ]);
    const run = new Map<string, string[]>([
      ["q1", ["a"]],
      ["q2", ["c", "b"]],
      ["q3", ["z"]],
      ["q9", ["a"]],
    ]);
    const e = evaluateRun(qrels, run, { k: 10, recallK: 100 });
    expect(e.skippedNoRelevant).toEqual(["q3"]);
    expect(e.perQuery.map((q) => q.queryId)).toEqual(["q1", "q2", "q4"]);
    // q2: DCG = 1 + 2/log2 3; ideal = 2 + 1/log2 3
    const q2 = (1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3));
    expect(e.perQuery[1]!.ndcg).toBeCloseTo(q2, 12);
    expect(e.ndcg).toBeCloseTo((1 + q2 + 0) / 3, 12);
    expect(e.recall).toBeCloseTo(2 / 3, 12);
    expect(e.mrr).toBeCloseTo(2 / 3, 12);
  });

  it("rejects cutoffs below 1", () => {
    expect(() => ndcgAt([], judged({ a: 1 }), 0)).toThrow(RangeError);
  });
});
