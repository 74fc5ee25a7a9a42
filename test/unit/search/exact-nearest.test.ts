import { describe, expect, it } from "vitest";
import { exactNearest } from "../../../functions/core/search/exact-nearest";

describe("exactNearest", () => {
  it("ranks by cosine similarity, not by dot product or length", () => {
    const hits = exactNearest(
      [1, 0],
      [
        { messageId: 1, vector: [10, 10] }, // long, 45 degrees off: cos 0.7071
        { messageId: 2, vector: [0.1, 0] }, // short, same direction: cos 1
        { messageId: 3, vector: [-1, 0] }, // opposite: cos -1
        { messageId: 4, vector: [0, 3] }, // orthogonal: cos 0
      ],
      10,
    );
    expect(hits.map((h) => h.messageId)).toEqual([2, 1, 4, 3]);
    expect(hits[0]!.score).toBeCloseTo(1, 12);
    expect(hits[1]!.score).toBeCloseTo(Math.SQRT1_2, 12);
    expect(hits[2]!.score).toBeCloseTo(0, 12);
    expect(hits[3]!.score).toBeCloseTo(-1, 12);
  });

  it("cuts at the limit and breaks ties by message id", () => {
    const vectors = [7, 3, 5, 1].map((messageId) => ({ messageId, vector: [2, 1] }));
    expect(exactNearest([4, 2], vectors, 3).map((h) => h.messageId)).toEqual([1, 3, 5]);
    expect(exactNearest([4, 2], vectors, 0)).toEqual([]);
    expect(exactNearest([4, 2], [], 5)).toEqual([]);
  });

  it("scores a zero vector 0 instead of NaN", () => {
    const hits = exactNearest([1, 1], [{ messageId: 9, vector: [0, 0] }], 1);
    expect(hits).toEqual([{ messageId: 9, score: 0 }]);
  });

  it("rejects a vector whose dimension differs from the query's", () => {
    expect(() => exactNearest([1, 0, 0], [{ messageId: 5, vector: [1, 0] }], 1)).toThrow(
      /message 5 has 2 dimensions, the query 3/,
    );
  });
});
