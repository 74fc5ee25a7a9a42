import { describe, expect, it } from "vitest";
import type { LegHit, SearchFilters } from "../../../functions/core/model";
import type { MessageFilter, NearestVectors } from "../../../functions/core/ports";
import {
  candidateCount,
  DEFAULT_FILTERED_SEARCH,
  filteredVectorSearch,
  hasFilters,
  widenedCount,
} from "../../../functions/core/search/filtered-vector-search";
import { VectorCache } from "../../../functions/core/search/vector-cache";

/**
 * An in-memory collection of `size` messages: message i is at distance i from every query (so the
 * nearest are 1, 2, 3, ...); even ids are in #even, odd ones in #odd; every 50th is in #rare.
 * `estimate` is what the filter reports as the share (default: the true share); ids in `missing`
 * have no vector in the store (searching among them fails, as Chroma does). Stored vectors are 2-d:
 * message i at angle i / 10,000 from the query [1, 0] (same order), its vector version `versions`'
 * (default 1); a store reading of the vectors is recorded in `fetched`.
 */
function world(
  size: number,
  opts: {
    estimate?: (filters: SearchFilters) => number | undefined;
    missing?: number[];
    versions?: Map<number, number>;
  } = {},
) {
  const { estimate, missing = [], versions = new Map<number, number>() } = opts;
  const fetched: number[][] = [];
  const channel = (id: number) => (id % 50 === 0 ? "#rare" : id % 2 === 0 ? "#even" : "#odd");
  const calls: { filters: SearchFilters; limit: number; among?: number }[] = [];
  // `has: ["link"]` stands for the filters only PostgreSQL answers: every third message "has a link".
  const matches = (id: number, f: SearchFilters) =>
    (!f.channels || f.channels.includes(channel(id))) && (!f.has?.length || id % 3 === 0);
  const nearest = (limit: number, keep: (id: number) => boolean) => {
    const out: LegHit[] = [];
    for (let id = 1; id <= size && out.length < limit; id++) {
      if (keep(id)) out.push({ messageId: id, score: 1 - id / 10_000 });
    }
    return out;
  };
  const inner: NearestVectors = {
    async query(_embedding, filters, limit) {
      calls.push({ filters, limit });
      // Like Chroma: its metadata has no `has`, so it cannot apply it.
      return nearest(limit, (id) => matches(id, { ...filters, has: [] }));
    },
    async queryAmong(_embedding, ids, limit) {
      calls.push({ filters: {}, limit, among: ids.length });
      if (ids.some((id) => missing.includes(id))) throw new Error("Error finding id");
      const among = new Set(ids);
      return nearest(limit, (id) => among.has(id));
    },
    async vectorsOf(ids) {
      fetched.push([...ids]);
      const out = new Map<number, Float32Array>();
      for (const id of ids) {
        // Scaled by the version: a re-embedded message's vector differs, its direction does not.
        const scale = versions.get(id) ?? 1;
        if (!missing.includes(id))
          out.set(id, Float32Array.of(scale * Math.cos(id / 1e4), scale * Math.sin(id / 1e4)));
      }
      return out;
    },
  };
  const lookups: number[][] = [];
  const filter: MessageFilter = {
    async matching(ids, filters) {
      lookups.push([...ids]);
      return new Set(ids.filter((id) => matches(id, filters)));
    },
    async estimatedShare(filters) {
      if (estimate) return estimate(filters);
      let n = 0;
      for (let id = 1; id <= size; id++) if (matches(id, filters)) n++;
      return n / size;
    },
    async embeddedMatching(filters, max) {
      const ids: number[] = [];
      for (let id = 1; id <= size; id++) if (matches(id, filters)) ids.push(id);
      return ids.length > max
        ? null
        : ids.map((id) => ({ messageId: id, vectorVersion: versions.get(id) ?? 1 }));
    },
  };
  return { inner, filter, calls, lookups, fetched };
}

const settings = {
  margin: 2,
  overfetch: 10,
  maxCandidates: 500,
  maxIds: 1_000,
  maxExact: 200,
  maxFetchedExact: 0,
};

describe("candidateCount", () => {
  it("asks for limit x margin / share candidates", () => {
    expect(candidateCount(20, 0.5, settings)).toBe(80);
    expect(candidateCount(60, 0.125, DEFAULT_FILTERED_SEARCH)).toBe(600);
    // The bench viewer (10% of 100k messages): 743 candidates, where 60 x 1.5 / 0.10096 asked 892.
    expect(candidateCount(60, 0.10096, DEFAULT_FILTERED_SEARCH)).toBe(743);
    // Rounded up, and never fewer than limit x margin even if the estimate exceeds 1.
    expect(candidateCount(20, 0.3, settings)).toBe(134);
    expect(candidateCount(20, 1.7, settings)).toBe(40);
  });

  it("sends a filter too selective for the cap (or matching nothing) to the filtered query", () => {
    expect(candidateCount(20, 0.08, settings)).toBe(500);
    expect(candidateCount(20, 0.079, settings)).toBeNull();
    expect(candidateCount(20, 0, settings)).toBeNull();
  });

  it("falls back to a fixed overfetch, capped, when the share is unknown", () => {
    expect(candidateCount(20, undefined, settings)).toBe(200);
    expect(candidateCount(100, undefined, settings)).toBe(500);
    expect(candidateCount(600, undefined, settings)).toBe(600);
  });
});

describe("filteredVectorSearch", () => {
  it("passes an unfiltered query straight through", async () => {
    const w = world(1000);
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query([0], {}, 20);
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(w.calls).toEqual([{ filters: {}, limit: 20 }]);
    expect(w.lookups).toEqual([]);
  });

  it("answers a dense filter from the unfiltered candidates: the nearest matching, in order", async () => {
    const w = world(1000);
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#odd"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    // #odd is half the messages: one unfiltered call for 20 x 2 / 0.5 = 80 candidates, no filtered call.
    expect(w.calls).toEqual([{ filters: {}, limit: 80 }]);
    expect(w.lookups[0]).toHaveLength(80);
  });

  it("searches among the matching ids for a selective filter (no wasted candidate list)", async () => {
    const w = world(5000);
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 50 * (i + 1)));
    expect(w.calls).toEqual([{ filters: {}, limit: 20, among: 100 }]);
    expect(w.lookups).toEqual([]);
  });

  it("uses the store's own filter when too many messages match for an id list", async () => {
    // #odd in 5000 is 2450 ids (> maxIds 1000); the statistics claim it is rare.
    const w = world(5000, { estimate: () => 0.001 });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#odd"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    expect(w.calls).toEqual([{ filters: { channels: ["#odd"] }, limit: 20 }]);
  });

  it("falls back to the store's own filter when a matching message has no vector there", async () => {
    const w = world(5000, { missing: [250] });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 50 * (i + 1)));
    expect(w.calls).toEqual([
      { filters: {}, limit: 20, among: 100 },
      { filters: { channels: ["#rare"] }, limit: 20 },
    ]);
  });

  it("returns nothing without asking the store when no message matches", async () => {
    const w = world(5000);
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#none"] },
      20,
    );
    expect(hits).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  it("searches among the matching ids when the estimate was too hopeful (a full window still comes back)", async () => {
    // The statistics claim #rare is half the messages: 80 candidates hold only one #rare id.
    const w = world(5000, { estimate: () => 0.5 });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 50 * (i + 1)));
    expect(w.calls).toEqual([
      { filters: {}, limit: 80 },
      { filters: {}, limit: 20, among: 100 },
    ]);
  });

  it("uses the fixed overfetch when the share is unknown", async () => {
    const w = world(5000, { estimate: () => undefined });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#even"] },
      20,
    );
    // #even without the #rare ids (every 50th): 2, 4, ..., 40.
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (i + 1)));
    expect(w.calls).toEqual([{ filters: {}, limit: 200 }]);
  });

  it("keeps the matches without a fallback when the collection is smaller than the candidate list", async () => {
    const w = world(120, { estimate: () => 0.1 });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual([50, 100]);
    expect(w.calls).toEqual([{ filters: {}, limit: 400 }]);
  });

  it("hasFilters sees every filter kind and ignores empty lists", () => {
    expect(hasFilters({})).toBe(false);
    expect(hasFilters({ channels: [] })).toBe(false);
    expect(hasFilters({ authors: ["a"] })).toBe(true);
    expect(hasFilters({ sources: ["acme"] })).toBe(true);
    expect(hasFilters({ from: new Date(0) })).toBe(true);
    expect(hasFilters({ to: new Date(0) })).toBe(true);
  });
});

describe("filters the store's metadata lacks (to:, has:, is:thread)", () => {
  it("count as filters, and the store's own filtered query is checked in PostgreSQL", async () => {
    expect(hasFilters({ has: ["link"] })).toBe(true);
    expect(hasFilters({ inThread: true })).toBe(true);
    expect(hasFilters({ mentions: ["U1"] })).toBe(true);
    expect(hasFilters({ excludeChannels: ["#odd"] })).toBe(true);
    // More matches than maxIds: neither candidates (estimate 0) nor ids; the store's query, checked.
    const w = world(9_000, { estimate: () => 0 });
    const search = filteredVectorSearch(w.inner, w.filter, { ...settings, maxIds: 100 });
    const hits = await search.query([1], { has: ["link"] }, 20);
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 3 * (i + 1)));
    expect(w.calls.at(-1)).toMatchObject({ limit: settings.maxCandidates });
  });
});

describe("widening a candidate list that held too few matches", () => {
  it("widenedCount asks for limit x margin over the share the candidates showed, capped", () => {
    // 750 candidates held 50 of 60: observed share 1/15, so 60 x 1.25 x 15 = 1125.
    expect(widenedCount(60, 750, 50, { ...DEFAULT_FILTERED_SEARCH, margin: 1.25 })).toBe(1125);
    // Capped at maxCandidates (500) when the cap is still expected to hold the limit.
    expect(widenedCount(20, 100, 5, settings)).toBe(500);
    // Not even the cap would hold it (observed 1/80 x 500 = 6 < 20): null, search among ids.
    expect(widenedCount(20, 80, 1, settings)).toBeNull();
    // No match counts as one: 1/40 x 500 = 12.5 < 20.
    expect(widenedCount(20, 40, 0, settings)).toBeNull();
    // The cap was already asked for.
    expect(widenedCount(20, 500, 19, settings)).toBeNull();
    // Always wider than before, even when the observed share says otherwise.
    expect(widenedCount(20, 100, 19, { ...settings, margin: 1 })).toBe(106);
  });

  it("asks again with more candidates and checks only the new ones in PostgreSQL", async () => {
    // `has: link` is every third message (33%), but the statistics claim every message has one:
    // 20 x 2 / 1 = 40 candidates hold 13 (3, 6, ..., 39); 13/40 observed -> 20 x 2 / 0.325 = 124.
    const w = world(5000, { estimate: () => 1 });
    const hits = await filteredVectorSearch(w.inner, w.filter, settings).query([0], { has: ["link"] }, 20);
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 3 * (i + 1)));
    expect(w.calls).toEqual([
      { filters: {}, limit: 40 },
      { filters: {}, limit: 124 },
    ]);
    expect(w.lookups.map((l) => l.length)).toEqual([40, 84]);
    expect(w.lookups[1]![0]).toBe(41);
  });
});

describe("exact scans of a selective filter's vectors from the process's cache", () => {
  const rareIds = (n: number) => Array.from({ length: n }, (_, i) => 50 * (i + 1));

  it("returns the nearest matching in order, and asks the store only for vectors the cache lacks", async () => {
    const cache = new VectorCache(1 << 20);
    // 1,000 messages, #rare is 20 of them (50..1000): all fetched once.
    const small = world(1000);
    const few = await filteredVectorSearch(small.inner, small.filter, settings, cache).query(
      [1, 0],
      { channels: ["#rare"] },
      20,
    );
    expect(few.map((h) => h.messageId)).toEqual(rareIds(20));
    expect(few[0]!.score).toBeCloseTo(Math.cos(50 / 1e4), 6);
    expect(small.fetched).toEqual([rareIds(20)]);
    // The same vectors in a 5,000-message store: #rare is 100 messages, the 80 not cached are fetched.
    const w = world(5000);
    const search = filteredVectorSearch(w.inner, w.filter, settings, cache);
    const hits = await search.query([1, 0], { channels: ["#rare"] }, 30);
    expect(hits.map((h) => h.messageId)).toEqual(rareIds(30));
    expect(w.fetched).toEqual([rareIds(100).slice(20)]);
    // Again: nothing fetched, never the store's search among ids.
    expect(await search.query([1, 0], { channels: ["#rare"] }, 30)).toEqual(hits);
    expect(w.fetched).toHaveLength(1);
    expect(w.calls.filter((c) => c.among !== undefined)).toEqual([]);
    expect(cache.size).toBe(100);
  });

  it("fetches a re-embedded message's new vector instead of scoring its old one", async () => {
    const versions = new Map<number, number>();
    const w = world(5000, { versions });
    const cache = new VectorCache(1 << 20);
    const search = filteredVectorSearch(w.inner, w.filter, settings, cache);
    await search.query([1, 0], { channels: ["#rare"] }, 20);
    versions.set(100, 2);
    const hits = await search.query([1, 0], { channels: ["#rare"] }, 20);
    expect(w.fetched.map((f) => f.length)).toEqual([100, 1]);
    expect(w.fetched[1]).toEqual([100]);
    expect(hits.map((h) => h.messageId)).toEqual(rareIds(20));
  });

  it("leaves more matches than maxExact to the store's search among ids", async () => {
    const w = world(5000);
    const cache = new VectorCache(1 << 20);
    await filteredVectorSearch(w.inner, w.filter, { ...settings, maxExact: 99 }, cache).query(
      [1, 0],
      { channels: ["#rare"] },
      20,
    );
    expect(w.fetched).toEqual([]);
    expect(w.calls).toEqual([{ filters: {}, limit: 20, among: 100 }]);
  });

  it("falls back to the store's own filter when a matching message has no vector there", async () => {
    const w = world(5000, { missing: [250] });
    const cache = new VectorCache(1 << 20);
    const hits = await filteredVectorSearch(w.inner, w.filter, settings, cache).query(
      [1, 0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(rareIds(20));
    expect(w.calls).toEqual([{ filters: { channels: ["#rare"] }, limit: 20 }]);
  });

  it("a cache of size 0 is off: the store's search among ids answers", async () => {
    const w = world(5000);
    await filteredVectorSearch(w.inner, w.filter, settings, new VectorCache(0)).query(
      [1, 0],
      { channels: ["#rare"] },
      20,
    );
    expect(w.fetched).toEqual([]);
    expect(w.calls).toEqual([{ filters: {}, limit: 20, among: 100 }]);
  });

  it("without a cache, scans up to maxFetchedExact matches exactly, fetching their vectors every time", async () => {
    const w = world(5000);
    const search = filteredVectorSearch(w.inner, w.filter, { ...settings, maxFetchedExact: 100 });
    const hits = await search.query([1, 0], { channels: ["#rare"] }, 20);
    expect(hits.map((h) => h.messageId)).toEqual(rareIds(20));
    expect(await search.query([1, 0], { channels: ["#rare"] }, 20)).toEqual(hits);
    expect(w.fetched).toEqual([rareIds(100), rareIds(100)]);
    expect(w.calls.filter((c) => c.among !== undefined)).toEqual([]);
    // One more match than that: the store's search among ids.
    await filteredVectorSearch(w.inner, w.filter, { ...settings, maxFetchedExact: 99 }).query(
      [1, 0],
      { channels: ["#rare"] },
      20,
    );
    expect(w.calls.at(-1)).toEqual({ filters: {}, limit: 20, among: 100 });
  });
});
