import { describe, expect, it } from "vitest";
import { exactNearest, nearestUnitVectors } from "../../../functions/core/search/exact-nearest";
import { VectorCache } from "../../../functions/core/search/vector-cache";

const ref = (messageId: number, vectorVersion = 1) => ({ messageId, vectorVersion });
/** One 4-dimensional vector's entry: 16 bytes of floats and the counted overhead. */
const entryBytes = 4 * 4 + 112;

describe("VectorCache", () => {
  it("returns a cached vector at unit length, only for the version it was cached for", () => {
    const cache = new VectorCache(1 << 16);
    cache.put(ref(7, 3), [3, 4, 0, 0]);
    expect(Array.from(cache.unitVector(ref(7, 3))!)).toEqual([
      expect.closeTo(0.6, 6),
      expect.closeTo(0.8, 6),
      0,
      0,
    ]);
    expect(cache.unitVector(ref(7, 4))).toBeUndefined();
    expect(cache.unitVector(ref(8, 3))).toBeUndefined();
    // A new version replaces the old one.
    cache.put(ref(7, 4), [0, 0, 2, 0]);
    expect(cache.unitVector(ref(7, 3))).toBeUndefined();
    expect(Array.from(cache.unitVector(ref(7, 4))!)).toEqual([0, 0, 1, 0]);
    expect(cache.size).toBe(1);
    expect(cache.byteSize).toBe(entryBytes);
  });

  it("stays within its byte budget by dropping the least recently used vectors", () => {
    const cache = new VectorCache(10 * entryBytes);
    const axis = (i: number) => [0, 1, 2, 3].map((k) => (k === i % 4 ? 1 : 0));
    for (let id = 1; id <= 10; id++) cache.put(ref(id), axis(id));
    expect(cache.size).toBe(10);
    cache.unitVector(ref(1)); // 1 is now the most recently read: 2 and 3 are the oldest
    cache.put(ref(11), axis(11));
    // Over budget: the oldest go until 90% of it is left (one sort per eviction, not per insert).
    expect(cache.byteSize).toBeLessThanOrEqual(9 * entryBytes);
    expect(cache.size).toBe(9);
    expect(cache.unitVector(ref(2))).toBeUndefined();
    expect(cache.unitVector(ref(3))).toBeUndefined();
    for (const id of [1, 4, 5, 6, 7, 8, 9, 10, 11]) expect(cache.unitVector(ref(id))).toBeDefined();
  });

  it("a zero budget keeps nothing (and says it is off)", () => {
    const cache = new VectorCache(0);
    expect(cache.enabled).toBe(false);
    const unit = cache.put(ref(1), [2, 0, 0, 0]);
    expect(Array.from(unit)).toEqual([1, 0, 0, 0]);
    expect(cache.size).toBe(0);
  });
});

describe("nearestUnitVectors", () => {
  it("ranks as exactNearest over the raw vectors does, with the same scores", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    };
    const raw = Array.from({ length: 300 }, (_, i) => ({
      messageId: i + 1,
      vector: Array.from({ length: 16 }, random).map((x) => x * (1 + (i % 5))),
    }));
    const query = Array.from({ length: 16 }, random);
    const cache = new VectorCache(1 << 20);
    const units = raw.map((r) => ({ messageId: r.messageId, unit: cache.put(ref(r.messageId), r.vector) }));
    const got = nearestUnitVectors(query, units, 25);
    const want = exactNearest(query, raw, 25);
    expect(got.map((h) => h.messageId)).toEqual(want.map((h) => h.messageId));
    for (const [i, h] of got.entries()) expect(h.score).toBeCloseTo(want[i]!.score, 5);
    expect(() => nearestUnitVectors([1, 0], units, 3)).toThrow(RangeError);
  });
});
