import type { LegHit, SearchFilters } from "../model";
import type { MessageFilter, NearestVectors, VectorSearch } from "../ports";

export interface FilteredSearchSettings {
  /**
   * Unfiltered candidates fetched per hit wanted, over the filter's estimated share: with a share
   * of 1/8 and a margin of 1.5, 1.5 x 8 = 12 candidates per hit. At 100k messages the share of
   * matches among the nearest 2,000 stayed within 10% of the filter's share (bench/README.md).
   */
  readonly margin: number;
  /** Candidates per hit wanted when the share is unknown (a table never analysed). */
  readonly overfetch: number;
  /** Cap on the candidate count (an unfiltered nearest-neighbour query costs more as k grows). */
  readonly maxCandidates: number;
  /** Most matching messages a search among ids is asked for; more go to the store's own filter. */
  readonly maxIds: number;
}

/**
 * A window of 60 and a margin of 1.5: filters keeping >= 4.5% of the messages check candidates; more
 * selective ones (up to 20,000 messages) search among their ids.
 */
export const DEFAULT_FILTERED_SEARCH: FilteredSearchSettings = {
  margin: 1.5,
  overfetch: 40,
  maxCandidates: 2_000,
  maxIds: 20_000,
};

export function hasFilters(f: SearchFilters): boolean {
  return Boolean(
    f.channels?.length ||
      f.authors?.length ||
      f.sources?.length ||
      f.from !== undefined ||
      f.to !== undefined ||
      f.excludeChannels?.length ||
      f.excludeAuthors?.length ||
      sourceOfTruthOnly(f),
  );
}

/** Filters the vector store's metadata cannot answer (where-filter.ts): only PostgreSQL checks them. */
function sourceOfTruthOnly(f: SearchFilters): boolean {
  return Boolean(f.mentions?.length || f.has?.length || f.inThread);
}

/**
 * How many unfiltered candidates to check for `limit` matching hits, or null when the filter is
 * too selective for candidates to be worth checking.
 */
export function candidateCount(
  limit: number,
  share: number | undefined,
  settings: FilteredSearchSettings,
): number | null {
  if (share === undefined)
    return Math.max(limit, Math.min(settings.maxCandidates, limit * settings.overfetch));
  if (share <= 0) return null;
  const k = Math.ceil((limit * settings.margin) / Math.min(1, share));
  return k > settings.maxCandidates ? null : k;
}

/**
 * The semantic leg with its filters applied without the vector store's metadata pre-filter where
 * that is cheaper, which at 100k messages is nearly always: Chroma materialises every matching id
 * for a `where` (65-600 ms for one channel, an author or a date range of 100k messages), while an
 * unfiltered nearest-neighbour query costs ~10-25 ms and PostgreSQL answers the filter from indexes.
 *
 * 1. Broad filter (estimated share from PostgreSQL's statistics >= limit x margin / maxCandidates):
 *    fetch k = limit x margin / share nearest candidates unfiltered and keep those that match.
 *    When at least `limit` match they are exactly the nearest matching vectors.
 * 2. Otherwise (selective, or too few candidates matched): take every matching embedded message
 *    from PostgreSQL and search among those ids only.
 * 3. More than `maxIds` matches, or the store lacks a vector for one of them (a message embedded
 *    into another model's collection, or drift the reconciler has not repaired yet): the store's
 *    own filtered query. Filters its metadata lacks (`to:`, `has:`, `is:thread`) are then checked
 *    in PostgreSQL on its nearest maxCandidates, which can leave a page short only when more than
 *    maxIds messages match and they are under 4.5% of the collection (over 440k messages).
 * Every path applies all filters inside the leg and returns a full window when enough messages match.
 */
export function filteredVectorSearch(
  inner: NearestVectors,
  filter: MessageFilter,
  settings: FilteredSearchSettings = DEFAULT_FILTERED_SEARCH,
): VectorSearch {
  return {
    async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
      if (!hasFilters(filters) || limit <= 0) return inner.query(embedding, filters, limit);
      const k = candidateCount(limit, await filter.estimatedShare(filters), settings);
      if (k !== null) {
        const candidates = await inner.query(embedding, {}, k);
        const keep = await filter.matching(
          candidates.map((h) => h.messageId),
          filters,
        );
        const hits = candidates.filter((h) => keep.has(h.messageId));
        // Fewer candidates than asked for means the whole collection was seen: the matches are complete.
        if (hits.length >= limit || candidates.length < k) return hits.slice(0, limit);
      }
      // The store's own filter, and for what its metadata lacks, candidates checked in PostgreSQL.
      const storeFiltered = async (): Promise<LegHit[]> => {
        if (!sourceOfTruthOnly(filters)) return inner.query(embedding, filters, limit);
        const candidates = await inner.query(embedding, filters, Math.max(limit, settings.maxCandidates));
        const keep = await filter.matching(
          candidates.map((h) => h.messageId),
          filters,
        );
        return candidates.filter((h) => keep.has(h.messageId)).slice(0, limit);
      };
      const ids = await filter.embeddedMatching(filters, settings.maxIds);
      if (ids === null) return storeFiltered();
      if (ids.length === 0) return [];
      return inner.queryAmong(embedding, ids, limit).catch(storeFiltered);
    },
  };
}
