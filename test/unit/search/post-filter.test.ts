import { describe, expect, it } from "vitest";
import type { LegHit, SearchFilters } from "../../../functions/core/model";
import type { MessageFilter, VectorSearch } from "../../../functions/core/ports";
import { hasFilters, postFilteredVectorSearch } from "../../../functions/core/search/post-filter";

/**
 * An in-memory collection of `size` messages: message i is at distance i from every query (so the
 * nearest are 1, 2, 3, ...); even ids are in #even, odd ones in #odd; every 50th is in #rare.
 */
function world(size: number) {
  const channel = (id: number) => (id % 50 === 0 ? "#rare" : id % 2 === 0 ? "#even" : "#odd");
  const calls: { filters: SearchFilters; limit: number }[] = [];
  const matches = (id: number, f: SearchFilters) => !f.channels || f.channels.includes(channel(id));
  const inner: VectorSearch = {
    async query(_embedding, filters, limit) {
      calls.push({ filters, limit });
      const out: LegHit[] = [];
      for (let id = 1; id <= size && out.length < limit; id++) {
        if (matches(id, filters)) out.push({ messageId: id, score: 1 - id / 10_000 });
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
  };
  return { inner, filter, calls, lookups };
}

const settings = { overfetch: 10, maxCandidates: 500 };

describe("postFilteredVectorSearch", () => {
  it("passes an unfiltered query straight through", async () => {
    const w = world(1000);
    const hits = await postFilteredVectorSearch(w.inner, w.filter, settings).query([0], {}, 20);
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(w.calls).toEqual([{ filters: {}, limit: 20 }]);
    expect(w.lookups).toEqual([]);
  });

  it("answers a dense filter from the unfiltered candidates: the nearest matching, in order", async () => {
    const w = world(1000);
    const hits = await postFilteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#odd"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    // One unfiltered call for limit x overfetch candidates, no filtered call.
    expect(w.calls).toEqual([{ filters: {}, limit: 200 }]);
    expect(w.lookups[0]).toHaveLength(200);
  });

  it("falls back to the filtered query when too few candidates match (a full window still comes back)", async () => {
    const w = world(5000);
    const hits = await postFilteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => 50 * (i + 1)));
    expect(w.calls).toEqual([
      { filters: {}, limit: 200 },
      { filters: { channels: ["#rare"] }, limit: 20 },
    ]);
  });

  it("caps the candidates at maxCandidates", async () => {
    const w = world(5000);
    await postFilteredVectorSearch(w.inner, w.filter, settings).query([0], { channels: ["#odd"] }, 100);
    expect(w.calls[0]).toEqual({ filters: {}, limit: 500 });
  });

  it("keeps the matches without a fallback when the collection is smaller than the candidate list", async () => {
    const w = world(120);
    const hits = await postFilteredVectorSearch(w.inner, w.filter, settings).query(
      [0],
      { channels: ["#rare"] },
      20,
    );
    expect(hits.map((h) => h.messageId)).toEqual([50, 100]);
    expect(w.calls).toHaveLength(1);
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
