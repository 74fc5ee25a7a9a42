import type { LegHit } from "../model";

/** A live embedded message as PostgreSQL knows it: the version its stored vector was written for. */
export interface EmbeddedRef {
  readonly messageId: number;
  readonly vectorVersion: number;
}

interface Entry {
  readonly version: number;
  /** The stored vector scaled to unit length (a zero vector stays zero): cosine is then a dot product. */
  readonly unit: Float32Array;
  /** When it was last read or written (the cache's own clock): the least recent go first. */
  used: number;
}

/** Bytes one cached vector is counted as: its floats and the Map entry around them (measured ~100). */
const ENTRY_OVERHEAD_BYTES = 112;
/** An eviction frees this share of the budget at once, so its sort is paid once per many inserts. */
const EVICT_SHARE = 0.1;

/**
 * Stored vectors of one vector collection, kept in this process for the semantic leg's exact scan of
 * a selective filter's messages (filtered-vector-search.ts): Chroma's search among ids walks most of
 * its graph to find the few allowed vectors (~25 ms of Chroma CPU for 300-3,000 of 100k ids), and
 * fetching those vectors costs more than that in JSON; a cached vector costs one dot product.
 *
 * A vector is valid for the message version it was cached under: PostgreSQL's `vector_version`
 * moves with every re-embedding, so an edited message's old vector is never scored, and a deleted
 * message never reaches the cache's reader (the ids come from PostgreSQL's live rows). Bounded by
 * bytes; the least recently used vectors go first. Recency is a counter on the entry, not the Map's
 * order: moving an entry to the end on every read (delete and set) cost more than the scan itself
 * for a few thousand hits per search (a CPU profile of bench/search).
 */
export class VectorCache {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;
  private clock = 0;

  constructor(private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The cached unit vector of `ref`, when it was cached for the same version (marks it recently used). */
  unitVector(ref: EmbeddedRef): Float32Array | undefined {
    const entry = this.entries.get(ref.messageId);
    if (entry === undefined || entry.version !== ref.vectorVersion) return undefined;
    entry.used = ++this.clock;
    return entry.unit;
  }

  /** Caches `vector` for `ref`'s version (replacing any other version); returns its unit vector. */
  put(ref: EmbeddedRef, vector: ArrayLike<number>): Float32Array {
    const unit = toUnit(vector);
    const old = this.entries.get(ref.messageId);
    if (old) {
      this.entries.delete(ref.messageId);
      this.bytes -= entryBytes(old.unit);
    }
    const size = entryBytes(unit);
    if (size > this.maxBytes) return unit;
    this.entries.set(ref.messageId, { version: ref.vectorVersion, unit, used: ++this.clock });
    this.bytes += size;
    if (this.bytes > this.maxBytes) this.evict(this.maxBytes * (1 - EVICT_SHARE));
    return unit;
  }

  /** Drops the least recently used entries until the cache holds at most `target` bytes. */
  private evict(target: number): void {
    const byAge = [...this.entries].sort((a, b) => a[1].used - b[1].used);
    for (const [id, entry] of byAge) {
      if (this.bytes <= target) break;
      this.entries.delete(id);
      this.bytes -= entryBytes(entry.unit);
    }
  }
}

function entryBytes(unit: Float32Array): number {
  return unit.byteLength + ENTRY_OVERHEAD_BYTES;
}

function toUnit(vector: ArrayLike<number>): Float32Array {
  const unit = Float32Array.from(vector);
  let sum = 0;
  for (let i = 0; i < unit.length; i++) sum += unit[i]! * unit[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < unit.length; i++) unit[i] = unit[i]! / norm;
  return unit;
}

/**
 * The `limit` unit vectors most similar to `query` by cosine similarity, best first, ties by message
 * id: the same order and scores (to float rounding) as exactNearest over the raw vectors. Only the
 * vectors at or above the limit-th best score are sorted as objects.
 */
export function nearestUnitVectors(
  query: ArrayLike<number>,
  vectors: readonly { readonly messageId: number; readonly unit: Float32Array }[],
  limit: number,
): LegHit[] {
  if (limit <= 0 || vectors.length === 0) return [];
  const q = toUnit(query);
  const scores = new Float64Array(vectors.length);
  for (let v = 0; v < vectors.length; v++) {
    const { unit, messageId } = vectors[v]!;
    if (unit.length !== q.length) {
      throw new RangeError(
        `vector of message ${messageId} has ${unit.length} dimensions, the query ${q.length}`,
      );
    }
    let sum = 0;
    for (let i = 0; i < q.length; i++) sum += q[i]! * unit[i]!;
    scores[v] = sum;
  }
  // The limit-th best score (a numeric typed-array sort), then only what reaches it.
  const floor = limit >= scores.length ? -Infinity : scores.slice().sort()[scores.length - limit]!;
  const best: LegHit[] = [];
  for (let v = 0; v < vectors.length; v++) {
    if (scores[v]! >= floor) best.push({ messageId: vectors[v]!.messageId, score: scores[v]! });
  }
  best.sort((a, b) => b.score - a.score || a.messageId - b.messageId);
  return best.slice(0, limit);
}
