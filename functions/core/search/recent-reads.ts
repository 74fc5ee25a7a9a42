/** How a process keeps what it read of messages from PostgreSQL (message-facts.ts, thread-facts.ts). */
export interface RecentReadsOptions {
  /** Most messages remembered (0 turns the cache off); the longest-held go first. */
  readonly maxEntries: number;
  /** How long a value read from PostgreSQL is used before it is read again. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

interface Held<V> {
  readonly value: V;
  /** When it was read (ms). */
  readonly at: number;
}

/**
 * Values per message id read from the source of truth in the last `ttlMs`, at most `maxEntries`.
 * `read` answers from them and asks `load` only for ids missing or expired; an id `load` does not
 * answer (no row) is asked again next time. Insertion order is read order (an entry read again moves
 * to the end), so eviction drops the longest-held first, a tenth of the capacity at a time.
 */
export class RecentReads<V> {
  private readonly held = new Map<number, Held<V>>();
  private readonly now: () => number;

  constructor(private readonly options: RecentReadsOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0;
  }

  /** The values of `ids` that have one, `keep` applied to what is stored (e.g. interning strings). */
  async read(
    ids: readonly number[],
    load: (missing: number[]) => Promise<Map<number, V>>,
    keep: (value: V) => V = (v) => v,
  ): Promise<Map<number, V>> {
    const t = this.now();
    const found = new Map<number, V>();
    const missing: number[] = [];
    for (const id of ids) {
      const hit = this.held.get(id);
      if (hit === undefined || t - hit.at > this.options.ttlMs) missing.push(id);
      else found.set(id, hit.value);
    }
    if (missing.length === 0) return found;
    const loaded = await load(missing);
    for (const id of missing) {
      const value = loaded.get(id);
      if (value === undefined) continue;
      const kept = keep(value);
      this.held.delete(id);
      this.held.set(id, { value: kept, at: t });
      found.set(id, kept);
    }
    this.evict();
    return found;
  }

  /** Drops what a later read proved out of date: the next `read` asks `load` for them. */
  forget(ids: Iterable<number>): void {
    for (const id of ids) this.held.delete(id);
  }

  private evict(): void {
    let excess = this.held.size - this.options.maxEntries;
    if (excess <= 0) return;
    excess += Math.ceil(this.options.maxEntries * 0.1);
    for (const id of this.held.keys()) {
      if (excess-- <= 0) break;
      this.held.delete(id);
    }
  }
}
