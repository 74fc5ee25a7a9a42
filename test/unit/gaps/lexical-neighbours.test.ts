import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../functions/core/gaps/detect-gaps";
import { lexicalNeighbours } from "../../../functions/core/gaps/lexical-neighbours";

/** TF-IDF cosine the slow, obvious way: every pair, binary tf x ln(n / df), normalised. */
function bruteForce(words: readonly Set<string>[], depth: number): number[][] {
  const n = words.length;
  const df = new Map<string, number>();
  for (const set of words) for (const w of set) df.set(w, (df.get(w) ?? 0) + 1);
  const vec = words.map((set) => {
    const v = new Map([...set].map((w) => [w, Math.log(n / df.get(w)!)] as const));
    const norm = Math.hypot(...v.values());
    return new Map([...v].map(([w, x]) => [w, norm > 0 ? x / norm : 0] as const));
  });
  return words.map((_, i) => {
    const scored: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (const [w, x] of vec[i]!) s += x * (vec[j]!.get(w) ?? 0);
      if (s > 0) scored.push([j, s]);
    }
    // Scores equal up to rounding order count as ties (lower position first), as in the walk.
    scored.sort((a, b) => (Math.abs(b[1] - a[1]) > 1e-12 ? b[1] - a[1] : a[0] - b[0]));
    return scored.slice(0, depth).map(([j]) => j);
  });
}

/** Messages of 3-8 words drawn from a Zipf-like vocabulary (a few common words, a long tail). */
function corpus(seed: number, n: number): Set<string>[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const set = new Set<string>();
    const size = 3 + Math.floor(rand() * 6);
    while (set.size < size) set.add(`w${Math.floor(1 / (0.02 + rand()) ** 1.5)}`);
    return set;
  });
}

describe("lexicalNeighbours", () => {
  it.each([1, 2, 3])(
    "ranks each message's neighbours by TF-IDF cosine, as the brute force does (seed %i)",
    (seed) => {
      const words = corpus(seed, 120);
      const expected = bruteForce(words, 8);
      const got = lexicalNeighbours(words, 8, { postingsPerMessage: 1e9 });
      expect(got).toEqual(expected);
      // Not vacuous: most messages share a word with several others.
      expect(got.filter((l) => l.length === 8).length).toBeGreaterThan(100);
    },
  );

  it("ranks a message sharing two rare words above one sharing one rare word and one common word", () => {
    const words = [
      ["oauth", "refresh", "token", "login"],
      ["refresh", "token", "mobile", "screen"],
      ["token", "team", "update", "today"],
      ["team", "update", "today", "lunch"],
      ["team", "update", "today", "deploy"],
      ["team", "update", "today", "review"],
    ].map((w) => new Set(w));
    const [first] = lexicalNeighbours(words, 2);
    expect(first).toEqual([1, 2]);
  });

  it("leaves the commonest words out of the walk when the budget is small, not the rare ones", () => {
    // "common" is in every message (df 40: 1,600 postings walked), "pair{k}" in two messages each.
    const words = Array.from({ length: 40 }, (_, i) => new Set(["common", `pair${Math.floor(i / 2)}`]));
    const full = lexicalNeighbours(words, 5, { postingsPerMessage: 1e9 });
    expect(full[0]).toHaveLength(5);
    // 40 messages x 10 steps = 400: the 20 pair words (2^2 = 4 steps each) fit, "common" (40^2) does not.
    const bounded = lexicalNeighbours(words, 5, { postingsPerMessage: 10 });
    expect(bounded[0]).toEqual([1]);
    expect(bounded[39]).toEqual([38]);
  });

  it("lists only eligible messages (those with a vector), and none for a message with no shared word", () => {
    const words = [["alpha", "beta"], ["alpha", "beta"], ["alpha", "beta"], ["gamma"]].map((w) => new Set(w));
    const got = lexicalNeighbours(words, 3, { eligible: (i) => i !== 1 });
    expect(got[0]).toEqual([2]);
    expect(got[1]).toEqual([]);
    expect(got[3]).toEqual([]);
  });
});
