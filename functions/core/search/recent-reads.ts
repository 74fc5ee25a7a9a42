import { LRUCache } from "lru-cache";

/** How a process keeps what it read of messages from PostgreSQL (message-facts.ts, thread-facts.ts). */
export interface RecentReadsOptions {
  /** Most messages remembered (0 turns the cache off); the least recently used go first. */
  readonly maxEntries: number;
  /** How long a value read from PostgreSQL is used before it is read again (0 turns the cache off). */
  readonly ttlMs: number;
  /** The clock (ms), for tests; it must start above 0 (lru-cache reads a start of 0 as never expiring). */
  readonly now?: () => number;
}

/**
 * Values per message id read from the source of truth in the last `ttlMs`, at most `maxEntries`
 * (lru-cache). `read` answers from them and asks `load` only for ids missing or expired; an id `load`
 * does not answer (no row) is asked again next time.
 */
export class RecentReads<V extends object> {
  private readonly held: LRUCache<number, V> | undefined;

  constructor(options: RecentReadsOptions) {
    this.held =
      options.maxEntries > 0 && options.ttlMs > 0
        ? new LRUCache<number, V>({
            max: options.maxEntries,
            ttl: options.ttlMs,
            // A given clock is read on every check (the default clock is read once per millisecond).
            ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
          })
        : undefined;
  }

  get enabled(): boolean {
    return this.held !== undefined;
  }

  /** The values of `ids` that have one, `keep` applied to what is stored (e.g. interning strings). */
  async read(
    ids: readonly number[],
    load: (missing: number[]) => Promise<Map<number, V>>,
    keep: (value: V) => V = (v) => v,
  ): Promise<Map<number, V>> {
    const found = new Map<number, V>();
    const missing: number[] = [];
    for (const id of ids) {
      const hit = this.held?.get(id);
      if (hit === undefined) missing.push(id);
      else found.set(id, hit);
    }
    if (missing.length === 0) return found;
    const loaded = await load(missing);
    for (const id of missing) {
      const value = loaded.get(id);
      if (value === undefined) continue;
      const kept = keep(value);
      this.held?.set(id, kept);
      found.set(id, kept);
    }
    return found;
  }

  /** Drops what a later read proved out of date: the next `read` asks `load` for them. */
  forget(ids: Iterable<number>): void {
    for (const id of ids) this.held?.delete(id);
  }
}
