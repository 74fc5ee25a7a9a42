import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../functions/core/gaps/detect-gaps";
import {
  averageLinkage,
  type Links,
  listsNeighbour,
  rankedNeighbours,
  sharedNeighbourWeight,
} from "../../../functions/core/gaps/shared-neighbours";

interface Link {
  readonly a: number;
  readonly b: number;
  readonly weight: number;
}

const asLinks = (links: readonly Link[]): Links => ({
  a: links.map((l) => l.a),
  b: links.map((l) => l.b),
  weight: links.map((l) => l.weight),
  length: links.length,
});

/** Average linkage the slow, obvious way: every pair of groups, every step. */
function bruteForce(nodes: number, links: readonly Link[], floor: number): number[][] {
  const w = new Map<string, number>();
  for (const { a, b, weight } of links) {
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    w.set(key, (w.get(key) ?? 0) + weight);
  }
  const weight = (a: number, b: number) => w.get(a < b ? `${a},${b}` : `${b},${a}`) ?? 0;
  let groups = Array.from({ length: nodes }, (_, i) => [i]);
  for (;;) {
    let best = -1;
    let pair: [number, number] | undefined;
    for (let x = 0; x < groups.length; x++)
      for (let y = x + 1; y < groups.length; y++) {
        let sum = 0;
        for (const a of groups[x]!) for (const b of groups[y]!) sum += weight(a, b);
        const mean = sum / (groups[x]!.length * groups[y]!.length);
        if (mean > best) {
          best = mean;
          pair = [x, y];
        }
      }
    if (!pair || best < floor || best === 0) break;
    const [x, y] = pair;
    groups = [...groups.filter((_, k) => k !== x && k !== y), [...groups[x]!, ...groups[y]!]];
  }
  return canonical(groups);
}

function canonical(groups: number[][]): number[][] {
  return groups.map((g) => [...g].sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
}

function groupsOf(roots: Int32Array): number[][] {
  const by = new Map<number, number[]>();
  roots.forEach((r, i) => {
    by.set(r, [...(by.get(r) ?? []), i]);
  });
  return canonical([...by.values()]);
}

describe("averageLinkage", () => {
  it("joins exactly the groups the slow pairwise algorithm joins, on random sparse graphs", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = seededRandom(seed);
      const nodes = 6 + Math.floor(rand() * 20);
      const links: Link[] = [];
      for (let a = 0; a < nodes; a++)
        for (let b = a + 1; b < nodes; b++)
          // Distinct weights (no ties), so both orders of joining are the same.
          if (rand() < 0.25) links.push({ a, b, weight: 0.05 + rand() * 0.6 + b * 1e-9 + a * 1e-11 });
      const floor = 0.05 + rand() * 0.3;
      expect(groupsOf(averageLinkage(nodes, asLinks(links), floor)), `seed ${seed}`).toEqual(
        bruteForce(nodes, links, floor),
      );
    }
  });

  it("stays exact past the heap's first capacity (1,024 entries)", () => {
    const rand = seededRandom(99);
    const nodes = 150;
    const links: Link[] = [];
    for (let a = 0; a < nodes; a++)
      for (let b = a + 1; b < nodes; b++)
        if (rand() < 0.12) links.push({ a, b, weight: 0.05 + rand() * 0.6 + b * 1e-9 + a * 1e-11 });
    expect(links.length).toBeGreaterThan(1_024);
    expect(groupsOf(averageLinkage(nodes, asLinks(links), 0.06))).toEqual(bruteForce(nodes, links, 0.06));
  });

  it("a group joins another only while their mean over all member pairs reaches the floor", () => {
    // 0-1 and 2-3 are tight; one 0.4 link between the pairs averages 0.1 over their four pairs.
    const links: Link[] = [
      { a: 0, b: 1, weight: 0.9 },
      { a: 2, b: 3, weight: 0.8 },
      { a: 1, b: 2, weight: 0.4 },
    ];
    expect(groupsOf(averageLinkage(5, asLinks(links), 0.2))).toEqual([[0, 1], [2, 3], [4]]);
    expect(groupsOf(averageLinkage(5, asLinks(links), 0.1))).toEqual([[0, 1, 2, 3], [4]]);
  });
});

/** The Jaccard overlap of two closed neighbourhoods, by sets: the brute-force reference. */
function closedJaccard(i: number, j: number, lists: readonly (readonly number[])[]): number {
  const a = new Set([i, ...lists[i]!]);
  const b = new Set([j, ...lists[j]!]);
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

describe("sharedNeighbourWeight", () => {
  it("is the Jaccard overlap of the closed neighbourhoods", () => {
    // 0's neighbours 1, 2, 3; 1's neighbours 0, 2, 4: closed {0,1,2,3} and {1,0,2,4} share 0, 1, 2.
    const ranked = rankedNeighbours([[1, 2, 3], [0, 2, 4], [], [], []]);
    expect(ranked.width).toBe(3);
    // The default width is the longest list, wherever it is; shorter lists are padded with -1.
    const uneven = rankedNeighbours([[4], [], [0, 2, 3, 4], [1, 0]]);
    expect(uneven.width).toBe(4);
    expect([...uneven.ids]).toEqual([4, -1, -1, -1, -1, -1, -1, -1, 0, 2, 3, 4, 1, 0, -1, -1]);
    expect(sharedNeighbourWeight(0, 1, ranked)).toBeCloseTo(3 / 5, 10);
    expect(sharedNeighbourWeight(1, 0, ranked)).toBeCloseTo(3 / 5, 10);
    // 0 and 4: 4 lists nobody, and 0 does not list 4 (only 1 does): nothing shared.
    expect(sharedNeighbourWeight(0, 4, ranked)).toBe(0);
    expect(listsNeighbour(ranked, 1, 4)).toBe(true);
    expect(listsNeighbour(ranked, 0, 4)).toBe(false);
    // Cut at 1: closed {0,1} and {1,0} are the same two messages.
    expect(sharedNeighbourWeight(0, 1, ranked, 1)).toBe(1);
    expect(listsNeighbour(ranked, 1, 4, 2)).toBe(false);
  });

  it("equals the set-based overlap over the lists cut at each depth, short lists included", () => {
    const random = seededRandom(7);
    const n = 40;
    // Lists of 0-14 distinct neighbours drawn from a small window, so many pairs share some.
    const lists = Array.from({ length: n }, (_, i) => {
      const list: number[] = [];
      const length = Math.floor(random() * 15);
      while (list.length < length) {
        const x = Math.floor(random() * n);
        if (x !== i && !list.includes(x)) list.push(x);
      }
      return list;
    });
    const ranked = rankedNeighbours(lists, 14);
    let nonZero = 0;
    // 20 is past the packed width: the lists are cut at 14 as slice(0, 20) leaves them.
    for (const cut of [1, 6, 10, 14, 20]) {
      const cutLists = lists.map((l) => l.slice(0, cut));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          const expected = closedJaccard(i, j, cutLists);
          if (expected > 0) nonZero++;
          expect(sharedNeighbourWeight(i, j, ranked, cut)).toBeCloseTo(expected, 12);
          expect(listsNeighbour(ranked, i, j, cut)).toBe(cutLists[i]!.includes(j));
        }
    }
    // The fixture is not all zeros: most pairs share something at the deeper cuts.
    expect(nonZero).toBeGreaterThan(1000);
  });
});
