import { toUnit } from "./exact-nearest";

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
    const unit = toUnit(vector, new Float32Array(vector.length));
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
