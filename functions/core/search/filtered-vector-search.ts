import type { LegHit, SearchFilters } from "../model";
import type { MessageFilter, NearestVectors, VectorSearch } from "../ports";
import { nearestUnitVectors, type UnitVector } from "./exact-nearest";
import { type EmbeddedRef, VectorCache } from "./vector-cache";

export interface FilteredSearchSettings {
  /**
   * Unfiltered candidates fetched per hit wanted, over the filter's estimated share: with a share
   * of 1/10 and a margin of 1.25, 1.25 x 10 = 12.5 candidates per hit. Too few matches among them
   * widen the list once, sized from the share they showed (`widenedCount`).
   */
  readonly margin: number;
  /** Candidates per hit wanted when the share is unknown (a table never analysed). */
  readonly overfetch: number;
  /** Cap on the candidate count (an unfiltered nearest-neighbour query costs more as k grows). */
  readonly maxCandidates: number;
  /** Most matching messages a search among ids is asked for; more go to the store's own filter. */
  readonly maxIds: number;
  /**
   * Most matching messages scanned exactly from the process's vector cache (when the leg has one),
   * fetching the ones it lacks; more go to the store's search among ids.
   */
  readonly maxExact: number;
  /**
   * The same without a cache (every vector fetched per search): Chroma's search among ids walks
   * most of its graph to find a few allowed vectors, so fewer ids cost it more. Among 100k vectors:
   * 50 ids 76 ms there against 8 ms fetched and scanned here, 200 ids 63 against 21 ms, 500 ids 41
   * against 50 ms (the embeddings' JSON is the cost here).
   */
  readonly maxFetchedExact: number;
}

/**
 * A window of 60 and a margin of 1.25: filters keeping >= 3.75% of the messages check candidates;
 * more selective ones (up to 20,000 messages) search among their ids. The margin was 1.5: at 100k
 * messages, for the bench viewer (10% of the messages) the 60th visible match of the 35 unfiltered
 * bench queries lay at depth 443-795 of the unfiltered nearest, so 743 candidates answer 33 of them
 * at once (2 widen) where 892 answered all; Chroma's CPU per query grows with k (~5.5 ms at 743,
 * ~6.8 at 892) and so does PostgreSQL's check (2.4 against 2.9 ms): bench/README.md, search.
 */
export const DEFAULT_FILTERED_SEARCH: FilteredSearchSettings = {
  margin: 1.25,
  overfetch: 40,
  maxCandidates: 2_000,
  maxIds: 20_000,
  maxExact: 5_000,
  maxFetchedExact: 200,
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
export function sourceOfTruthOnly(f: SearchFilters): boolean {
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
 * After `k` candidates held only `matched` (< limit) matches: how many to ask for next, from the
 * share they showed (at least one match counted, so none does not mean infinitely many), or null
 * when even `maxCandidates` would not be expected to hold `limit` (searching among ids is then
 * cheaper than two more candidate lists) or `k` was the cap already.
 */
export function widenedCount(
  limit: number,
  k: number,
  matched: number,
  settings: FilteredSearchSettings,
): number | null {
  if (k >= settings.maxCandidates) return null;
  const observed = Math.max(1, matched) / k;
  if (observed * settings.maxCandidates < limit) return null;
  return Math.min(settings.maxCandidates, Math.max(k + 1, Math.ceil((limit * settings.margin) / observed)));
}

/**
 * The semantic leg with its filters applied without the vector store's metadata pre-filter where
 * that is cheaper, which at 100k messages is nearly always: Chroma materialises every matching id
 * for a `where` (65-600 ms for one channel, an author or a date range of 100k messages), while an
 * unfiltered nearest-neighbour query costs ~10-25 ms and PostgreSQL answers the filter from indexes.
 *
 * 1. Broad filter (estimated share from PostgreSQL's statistics >= limit x margin / maxCandidates):
 *    fetch k = limit x margin / share nearest candidates unfiltered and keep those that match.
 *    When at least `limit` match they are exactly the nearest matching vectors. When fewer do, a
 *    wider list follows, sized from the share the first one showed (only its new candidates are
 *    checked), as long as maxCandidates is expected to hold `limit` matches.
 * 2. Otherwise (selective, or too few candidates matched): take every matching embedded message
 *    from PostgreSQL and search among those ids only: up to maxExact of them by an exact scan of
 *    their vectors from `cache` (the store's copies of the ones it lacks fetched once; without a
 *    cache up to maxFetchedExact, all fetched), else the store's search among ids.
 * 3. More than `maxIds` matches, or the store lacks a vector for one of them (a message embedded
 *    into another model's collection, or drift the reconciler has not repaired yet): the store's
 *    own filtered query. Filters its metadata lacks (`to:`, `has:`, `is:thread`) are then checked
 *    in PostgreSQL on its nearest maxCandidates, which can leave a page short only when more than
 *    maxIds messages match and they are under 3.75% of the collection (over 533k messages).
 * Every path applies all filters inside the leg and returns a full window when enough messages match.
 */
export function filteredVectorSearch(
  inner: NearestVectors,
  filter: MessageFilter,
  settings: FilteredSearchSettings = DEFAULT_FILTERED_SEARCH,
  cache?: VectorCache,
): VectorSearch {
  return {
    async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
      if (!hasFilters(filters) || limit <= 0) return inner.query(embedding, filters, limit);
      let k = candidateCount(limit, await filter.estimatedShare(filters), settings);
      // Ids already checked in PostgreSQL, and whether they matched: a wider list checks only its new ones.
      const checked = new Map<number, boolean>();
      while (k !== null) {
        const candidates = await inner.query(embedding, {}, k);
        const unchecked = candidates.map((h) => h.messageId).filter((id) => !checked.has(id));
        const keep = unchecked.length > 0 ? await filter.matching(unchecked, filters) : new Set<number>();
        for (const id of unchecked) checked.set(id, keep.has(id));
        const hits = candidates.filter((h) => checked.get(h.messageId) === true);
        // Fewer candidates than asked for means the whole collection was seen: the matches are complete.
        if (hits.length >= limit || candidates.length < k) return hits.slice(0, limit);
        k = widenedCount(limit, k, hits.length, settings);
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
      const refs = await filter.embeddedMatching(filters, settings.maxIds);
      if (refs === null) return storeFiltered();
      if (refs.length === 0) return [];
      const scan = cache?.enabled ? cache : NO_CACHE;
      const among =
        refs.length <= (scan.enabled ? settings.maxExact : settings.maxFetchedExact)
          ? exactAmongCached(inner, scan, embedding, refs, limit)
          : inner.queryAmong(
              embedding,
              refs.map((r) => r.messageId),
              limit,
            );
      return among.catch(storeFiltered);
    },
  };
}

/** Holds nothing: every vector of an exact scan is fetched (a leg without a cache). */
const NO_CACHE = new VectorCache(0);

/**
 * Nearest among `refs` by an exact scan of their cached vectors; the ones the cache lacks (or holds
 * for another version) are fetched from the store once. Fails like the store's search among ids
 * when one of them has no vector there.
 */
async function exactAmongCached(
  store: NearestVectors,
  cache: VectorCache,
  embedding: number[],
  refs: readonly EmbeddedRef[],
  limit: number,
): Promise<LegHit[]> {
  const vectors: UnitVector[] = [];
  const missing: EmbeddedRef[] = [];
  for (const ref of refs) {
    const unit = cache.unitVector(ref);
    if (unit) vectors.push({ messageId: ref.messageId, unit });
    else missing.push(ref);
  }
  if (missing.length > 0) {
    const fetched = await store.vectorsOf(missing.map((r) => r.messageId));
    for (const ref of missing) {
      const vector = fetched.get(ref.messageId);
      if (!vector) throw new Error(`the vector store holds no vector for message ${ref.messageId}`);
      vectors.push({ messageId: ref.messageId, unit: cache.put(ref, vector) });
    }
  }
  return nearestUnitVectors(embedding, vectors, limit);
}
