import type { SearchFilters } from "../model";
import type { MessageFilter } from "../ports";
import { sourceOfTruthOnly } from "./filtered-vector-search";
import { RecentReads, type RecentReadsOptions } from "./recent-reads";
import { toEpochSeconds } from "./search-request";

/** What the semantic leg's candidate check needs of a message: where, by whom and when it was written. */
export interface MessageFacts {
  readonly channel: string;
  readonly author: string;
  /** Whole epoch seconds (floor), as the filters compare them (pg-message-filter.ts, where-filter.ts). */
  readonly epochSeconds: number;
}

/** A MessageFilter that can also list the facts of messages by id (PostgreSQL). */
export interface FactsSource extends MessageFilter {
  /** The facts of the rows among `ids` (deleted rows included, as `matching` includes them). */
  factsOf(ids: readonly number[]): Promise<Map<number, MessageFacts>>;
}

/**
 * Filters the facts answer alone: not those only PostgreSQL answers (mentions, has:, is:thread), nor
 * sources (a message's source is a row of its own). Those go to PostgreSQL's check.
 */
export function answeredByFacts(filters: SearchFilters): boolean {
  return !filters.sources?.length && !sourceOfTruthOnly(filters);
}

/** The SQL filter's meaning (pg-message-filter.ts filterSql) over one message's facts, prepared once per check. */
export function factsMatcher(filters: SearchFilters): (facts: MessageFacts) => boolean {
  const set = (values: readonly string[] | undefined) => (values?.length ? new Set(values) : undefined);
  const channels = set(filters.channels);
  const authors = set(filters.authors);
  const excludeChannels = set(filters.excludeChannels);
  const excludeAuthors = set(filters.excludeAuthors);
  const from = filters.from ? toEpochSeconds(filters.from) : undefined;
  const to = filters.to ? toEpochSeconds(filters.to) : undefined;
  return (f) =>
    (channels === undefined || channels.has(f.channel)) &&
    (authors === undefined || authors.has(f.author)) &&
    !excludeChannels?.has(f.channel) &&
    !excludeAuthors?.has(f.author) &&
    (from === undefined || f.epochSeconds >= from) &&
    (to === undefined || f.epochSeconds <= to);
}

/**
 * The semantic leg's candidate check (filtered-vector-search.ts) answered from facts this process
 * read recently, instead of asking PostgreSQL about every candidate of every search. As a viewer in
 * 20 of 200 channels, a search checks ~750 nearest candidates for the 60 it keeps; PostgreSQL's
 * check of them cost ~1.5-3 ms of its CPU per search (bench/README.md, search), while searches
 * near the same subjects meet the same candidates again.
 *
 * Facts are used for `ttlMs` after they were read. A message's channel, author and time change only
 * when its source re-sends it so (POST /messages upserts by external id); until its facts are read
 * again the semantic leg may miss it under its new channel, or offer it under its old one. Who may
 * read what is not decided here: enrichment keeps only rows PostgreSQL holds in a conversation the
 * viewer may read now (access/scoped-search.ts), so a stale fact can shorten a page, never widen it.
 * Filters the facts do not answer (sources, mentions, has:, is:thread) are checked in PostgreSQL.
 */
export function cachedFactsFilter(source: FactsSource, options: RecentReadsOptions): MessageFilter {
  const recent = new RecentReads<MessageFacts>(options);
  if (!recent.enabled) return source;
  // One string per distinct channel and author, not one per row read.
  const interned = new Map<string, string>();
  const intern = (s: string) => {
    const known = interned.get(s);
    if (known !== undefined) return known;
    if (interned.size >= options.maxEntries) interned.clear();
    interned.set(s, s);
    return s;
  };
  const keep = (f: MessageFacts): MessageFacts => ({
    channel: intern(f.channel),
    author: intern(f.author),
    epochSeconds: f.epochSeconds,
  });
  return {
    estimatedShare: (filters) => source.estimatedShare(filters),
    embeddedMatching: (filters, max) => source.embeddedMatching(filters, max),
    async matching(ids, filters) {
      if (!answeredByFacts(filters)) return source.matching(ids, filters);
      const matches = factsMatcher(filters);
      const facts = await recent.read(ids, (missing) => source.factsOf(missing), keep);
      const kept = new Set<number>();
      for (const [id, f] of facts) if (matches(f)) kept.add(id);
      return kept;
    },
  };
}
