import type { LegHit, SearchFilters } from "../model";
import type { MessageFilter, VectorSearch } from "../ports";

export interface PostFilterSettings {
  /** Nearest neighbours fetched unfiltered per hit wanted (the leg window). */
  readonly overfetch: number;
  /** Cap on that candidate count (an unfiltered nearest-neighbour query costs more as k grows). */
  readonly maxCandidates: number;
}

/** 40 x a 50-60 hit window is ~2,000 candidates: filters keeping >= ~3% of messages take the fast path. */
export const DEFAULT_POST_FILTER: PostFilterSettings = { overfetch: 40, maxCandidates: 2_000 };

export function hasFilters(f: SearchFilters): boolean {
  return Boolean(
    f.channels?.length ||
      f.authors?.length ||
      f.sources?.length ||
      f.from !== undefined ||
      f.to !== undefined,
  );
}

/**
 * The semantic leg with its filters applied to a deeper unfiltered candidate list first.
 *
 * A vector store's metadata pre-filter costs in proportion to the messages that match (Chroma
 * materialises every matching id: ~80 ms for one channel of 100k messages, several hundred ms for a
 * date range), while an unfiltered nearest-neighbour query for 2,000 ids costs ~20 ms and checking
 * those ids against the filters is one indexed lookup. When at least `limit` of the nearest
 * candidates match, they are exactly the nearest matching vectors, i.e. what the filtered query
 * returns; otherwise (a selective filter, where the pre-filter is cheap) the filtered query runs.
 * Either way the leg applies the filters itself and returns a full window when enough messages match.
 */
export function postFilteredVectorSearch(
  inner: VectorSearch,
  filter: MessageFilter,
  settings: PostFilterSettings = DEFAULT_POST_FILTER,
): VectorSearch {
  return {
    async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
      if (!hasFilters(filters) || limit <= 0) return inner.query(embedding, filters, limit);
      const k = Math.max(limit, Math.min(settings.maxCandidates, limit * settings.overfetch));
      const candidates = await inner.query(embedding, {}, k);
      const keep = await filter.matching(
        candidates.map((h) => h.messageId),
        filters,
      );
      const hits = candidates.filter((h) => keep.has(h.messageId));
      // Fewer candidates than asked for means the whole collection was seen: the matches are complete.
      if (hits.length >= limit || candidates.length < k) return hits.slice(0, limit);
      return inner.query(embedding, filters, limit);
    },
  };
}
