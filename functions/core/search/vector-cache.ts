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
}

/** Bytes one cached vector is counted as: its floats and the Map entry around them (measured ~100). */
const ENTRY_OVERHEAD_BYTES = 112;

/**
 * Stored vectors of one vector collection, kept in this process for the semantic leg's exact scan of
 * a selective filter's messages (filtered-vector-search.ts): Chroma's search among ids walks most of
 * its graph to find the few allowed vectors (~25 ms of Chroma CPU for 300-3,000 of 100k ids), and
 * fetching those vectors costs more than that in JSON; a cached vector costs one dot product.
 *
 * A vector is valid for the message version it was cached under: PostgreSQL's `vector_version`
 * moves with every re-embedding, so an edited message's old vector is never scored, and a deleted
 * message never reaches the cache's reader (the ids come from PostgreSQL's live rows). Bounded by
 * bytes; the least recently used vectors go first.
 */
export class VectorCache {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

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
    if (!entry) return undefined;
    if (entry.version !== ref.vectorVersion) return undefined;
    this.entries.delete(ref.messageId);
    this.entries.set(ref.messageId, entry);
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
    this.entries.set(ref.messageId, { version: ref.vectorVersion, unit });
    this.bytes += size;
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= entryBytes(entry.unit);
    }
    return unit;
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
 * id: the same order and scores (to float rounding) as exactNearest over the raw vectors.
 */
export function nearestUnitVectors(
  query: ArrayLike<number>,
  vectors: readonly { readonly messageId: number; readonly unit: Float32Array }[],
  limit: number,
): LegHit[] {
  if (limit <= 0) return [];
  const q = toUnit(query);
  const scored = vectors.map((v) => {
    if (v.unit.length !== q.length) {
      throw new RangeError(
        `vector of message ${v.messageId} has ${v.unit.length} dimensions, the query ${q.length}`,
      );
    }
    let sum = 0;
    for (let i = 0; i < q.length; i++) sum += q[i]! * v.unit[i]!;
    return { messageId: v.messageId, score: sum };
  });
  scored.sort((a, b) => b.score - a.score || a.messageId - b.messageId);
  return scored.slice(0, limit);
}
