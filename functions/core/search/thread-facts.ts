import type { ThreadReader } from "../ports";
import type { HitFacts } from "./grouping";
import { RecentReads, type RecentReadsOptions } from "./recent-reads";

/**
 * Grouping's facts (thread key, time, live) answered from what this process read recently, instead
 * of asking PostgreSQL about every ranked hit of every hybrid search (~120 ids: ~0.8 ms of its CPU
 * and ~1 ms of this process's per search, bench/README.md, search). A message's thread key and
 * time never change unless its source re-sends it into another channel; what does change is `live`.
 * A hit deleted since its facts were read is found out by the page's own read, which keeps only live
 * rows: the search forgets that hit's facts and lists the page again (search-messages.ts), so a
 * deletion never costs a page its thread. A re-sent message is grouped by its old thread for at most
 * the TTL.
 */
export function cachedThreadFacts(reader: ThreadReader, options: RecentReadsOptions): ThreadReader {
  const recent = new RecentReads<HitFacts>(options);
  if (!recent.enabled) return reader;
  return {
    facts: (ids) => recent.read(ids, (missing) => reader.facts(missing)),
    around: (ids, n) => reader.around(ids, n),
    forget: (ids) => recent.forget(ids),
  };
}
