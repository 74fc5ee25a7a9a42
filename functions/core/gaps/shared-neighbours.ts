/**
 * Topics by shared nearest neighbours (the default topic rule, definition.ts `topics`): two messages
 * are about the same topic when their nearest messages in the window are largely the same ones, and
 * a topic is a group whose members, on average, are such pairs.
 *
 * Why not a cosine threshold: a compact embedding model (bge-small) puts unrelated messages at 0.5-0.7
 * and one narrow topic at 0.73-0.87, so any absolute floor either cuts most of a topic's pairs or joins
 * whole subjects (bench/quality.md, coordination gaps). Neighbourhoods are relative: a message's ten
 * nearest are its ten nearest whatever the model's scale, and two messages of one narrow topic share
 * them while two messages that are merely on the same subject do not. This is the shared-nearest-
 * neighbour similarity of Jarvis & Patrick (1973), used with average linkage as in single-cell
 * clustering (Seurat's SNN graph); measured against the threshold rule in bench/quality.md.
 */

/**
 * Each message's ranked neighbours in one typed array, `width` per message, -1 padding a shorter
 * list: one array instead of a list and a Set per message (at 100,000 messages the ensemble's two
 * extra cuts as Sets took ~140 MB of a 1 GB budget; bench/README.md, gaps).
 */
export interface RankedNeighbours {
  readonly ids: Int32Array;
  readonly width: number;
}

/** Packs `lists` (no repeats within a list); `width` defaults to the longest list. */
export function rankedNeighbours(
  lists: readonly (readonly number[])[],
  width = lists.reduce((most, l) => Math.max(most, l.length), 0),
): RankedNeighbours {
  const ids = new Int32Array(lists.length * width).fill(-1);
  lists.forEach((list, i) => {
    for (let r = 0; r < Math.min(width, list.length); r++) ids[i * width + r] = list[r]!;
  });
  return { ids, width };
}

/** Whether `owner` lists `x` among its first `cut` neighbours. */
export function listsNeighbour(
  ranked: RankedNeighbours,
  owner: number,
  x: number,
  cut = ranked.width,
): boolean {
  const { ids, width } = ranked;
  for (let r = owner * width, last = r + Math.min(cut, width); r < last && ids[r]! >= 0; r++)
    if (ids[r] === x) return true;
  return false;
}

/**
 * Jaccard overlap of two closed neighbourhoods (each message counts as its own neighbour), each list
 * cut at its first `cut` neighbours: a scan of at most cut x cut entries, which at the widths used
 * (10-14) costs about what Set lookups do, without a Set per message.
 */
export function sharedNeighbourWeight(
  i: number,
  j: number,
  ranked: RankedNeighbours,
  cut = ranked.width,
): number {
  const { ids, width } = ranked;
  const end = Math.min(cut, width);
  let sizeI = 0;
  let sizeJ = 0;
  let shared = 0;
  for (let r = 0; r < end && ids[i * width + r]! >= 0; r++) {
    sizeI++;
    if (listsNeighbour(ranked, j, ids[i * width + r]!, end)) shared++;
  }
  for (let r = 0; r < end && ids[j * width + r]! >= 0; r++) sizeJ++;
  // Each one in the other's list is a shared member of the closed neighbourhoods too.
  if (listsNeighbour(ranked, j, i, end)) shared++;
  if (listsNeighbour(ranked, i, j, end)) shared++;
  return shared / (sizeI + sizeJ + 2 - shared);
}

/** The root of node i in a union-find forest (`parent`), halving the path on the way. */
export function findRoot(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]!]!;
    i = parent[i]!;
  }
  return i;
}

/** Weighted links between messages (by position): link k joins a[k] and b[k] with weight[k]. */
export interface Links {
  readonly a: ArrayLike<number>;
  readonly b: ArrayLike<number>;
  readonly weight: ArrayLike<number>;
  /** Links in use (the arrays may be longer). */
  readonly length: number;
}

/**
 * Average linkage over a sparse graph: repeatedly joins the two groups whose mean link weight over
 * all their member pairs (a missing link weighs 0) is highest, while it is at least `floor`. Returns
 * each node's group (a representative node). Exact: after a join the mean between the new group and
 * any other is a weighted mean of the two old means, so an entry made for an old group bounds the new
 * mean from above and is re-evaluated when it comes up (lazy update); an entry whose groups are
 * current is the largest mean left. Equal means join in (lower, higher) node order of the entries.
 * Heap work is O(E log E) plus one re-evaluation per stale entry; groups merge their link maps
 * smaller into larger. The floor must be above 0 (an unlinked pair never joins).
 */
export function averageLinkage(nodes: number, links: Links, floor: number): Int32Array {
  const parent = Int32Array.from({ length: nodes }, (_, i) => i);
  const find = (i: number) => findRoot(parent, i);
  const size = new Int32Array(nodes).fill(1);
  const stamp = new Int32Array(nodes);
  const weights: (Map<number, number> | undefined)[] = Array.from({ length: nodes }, () => undefined);
  const weightsOf = (i: number) => {
    let m = weights[i];
    if (!m) {
      m = new Map();
      weights[i] = m;
    }
    return m;
  };
  for (let k = 0; k < links.length; k++) {
    const a = links.a[k]!;
    const b = links.b[k]!;
    const weight = links.weight[k]!;
    if (a === b) continue;
    weightsOf(a).set(b, (weightsOf(a).get(b) ?? 0) + weight);
    weightsOf(b).set(a, (weightsOf(b).get(a) ?? 0) + weight);
  }
  const heap = new MaxHeap();
  const mean = (a: number, b: number) => (weights[a]?.get(b) ?? 0) / (size[a]! * size[b]!);
  // Sums build up in merge order, so a mean exactly at the floor may round either side of it.
  const reaches = floor - 1e-12;
  const push = (x: number, y: number) => {
    const [a, b] = x < y ? [x, y] : [y, x];
    const m = mean(a, b);
    if (m >= reaches) heap.push(m, a, b, stamp[a]!, stamp[b]!);
  };
  for (let a = 0; a < nodes; a++) for (const b of weights[a]?.keys() ?? []) if (a < b) push(a, b);
  while (heap.size > 0) {
    const top = heap.pop();
    const a = find(top.a);
    const b = find(top.b);
    if (a === b) continue;
    const stale = Math.min(a, b) !== top.a || Math.max(a, b) !== top.b;
    if (stale || stamp[top.a] !== top.stampA || stamp[top.b] !== top.stampB) {
      // Stale: an upper bound of the groups' mean now; put it back at its current value.
      push(a, b);
      continue;
    }
    // Join the group with fewer links into the one with more.
    const [into, from] = (weights[a]?.size ?? 0) >= (weights[b]?.size ?? 0) ? [a, b] : [b, a];
    const target = weightsOf(into);
    target.delete(from);
    for (const [c, w] of weights[from] ?? []) {
      if (c === into) continue;
      target.set(c, (target.get(c) ?? 0) + w);
      const other = weights[c]!;
      other.delete(from);
      other.set(into, (other.get(into) ?? 0) + w);
    }
    weights[from] = undefined;
    parent[from] = into;
    size[into]! += size[from]!;
    stamp[into]!++;
  }
  return Int32Array.from({ length: nodes }, (_, i) => find(i));
}

/**
 * A binary max-heap of join candidates (key, then lower a, then lower b first), kept in typed
 * arrays that double when full: at 100,000 messages it holds about a million entries, and an object
 * per entry cost the computation its memory margin (bench/README.md, gaps).
 */
class MaxHeap {
  private key = new Float64Array(1024);
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  private stampA = new Int32Array(1024);
  private stampB = new Int32Array(1024);
  size = 0;

  push(key: number, a: number, b: number, stampA: number, stampB: number): void {
    if (this.size === this.key.length) this.grow();
    let i = this.size++;
    // Sift up: move parents down until the new entry's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.beats(key, a, b, p)) break;
      this.copy(p, i);
      i = p;
    }
    this.set(i, key, a, b, stampA, stampB);
  }

  /** Removes and returns the top entry (the heap must not be empty). */
  pop(): { a: number; b: number; stampA: number; stampB: number } {
    const top = { a: this.a[0]!, b: this.b[0]!, stampA: this.stampA[0]!, stampB: this.stampB[0]! };
    const last = --this.size;
    const [key, a, b, sa, sb] = [
      this.key[last]!,
      this.a[last]!,
      this.b[last]!,
      this.stampA[last]!,
      this.stampB[last]!,
    ];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const child = r < last && this.beats(this.key[r]!, this.a[r]!, this.b[r]!, l) ? r : l;
      if (this.beats(key, a, b, child)) break;
      this.copy(child, i);
      i = child;
    }
    if (last > 0) this.set(i, key, a, b, sa, sb);
    return top;
  }

  /** Whether an entry (key, a, b) goes before the entry at position y. */
  private beats(key: number, a: number, b: number, y: number): boolean {
    const ky = this.key[y]!;
    if (key !== ky) return key > ky;
    const ay = this.a[y]!;
    return a < ay || (a === ay && b < this.b[y]!);
  }

  private copy(from: number, to: number): void {
    this.set(to, this.key[from]!, this.a[from]!, this.b[from]!, this.stampA[from]!, this.stampB[from]!);
  }

  private set(i: number, key: number, a: number, b: number, stampA: number, stampB: number): void {
    this.key[i] = key;
    this.a[i] = a;
    this.b[i] = b;
    this.stampA[i] = stampA;
    this.stampB[i] = stampB;
  }

  private grow(): void {
    const n = this.key.length * 2;
    const key = new Float64Array(n);
    key.set(this.key);
    this.key = key;
    for (const name of ["a", "b", "stampA", "stampB"] as const) {
      const next = new Int32Array(n);
      next.set(this[name]);
      this[name] = next;
    }
  }
}
