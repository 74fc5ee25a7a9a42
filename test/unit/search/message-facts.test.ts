import { describe, expect, it } from "vitest";
import type { SearchFilters } from "../../../functions/core/model";
import {
  answeredByFacts,
  cachedFactsFilter,
  type FactsSource,
  factsMatcher,
  type MessageFacts,
} from "../../../functions/core/search/message-facts";

const facts = (channel: string, author: string, iso: string): MessageFacts => ({
  channel,
  author,
  epochSeconds: Math.floor(Date.parse(iso) / 1000),
});

/** An in-memory source of truth that counts what it is asked (PostgreSQL's role; its SQL has its own test). */
function memorySource(rows: Map<number, MessageFacts>) {
  const calls = { factsOf: [] as number[][], matching: 0 };
  const source: FactsSource = {
    async factsOf(ids) {
      calls.factsOf.push([...ids]);
      return new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!] as const] : [])));
    },
    async matching(ids, filters) {
      calls.matching++;
      const matches = factsMatcher(filters);
      return new Set(ids.filter((id) => rows.has(id) && matches(rows.get(id)!)));
    },
    estimatedShare: async () => 0.5,
    embeddedMatching: async () => [],
  };
  return { source, calls };
}

describe("factsMatcher (the SQL filter's meaning over a message's channel, author and time)", () => {
  const f = facts("#auth", "alice", "2025-11-15T12:00:00.700Z");
  const m = (filters: SearchFilters) => factsMatcher(filters)(f);

  it("applies channel and author lists, their exclusions, and all of them together", () => {
    expect(m({})).toBe(true);
    expect(m({ channels: ["#auth", "#mobile"] })).toBe(true);
    expect(m({ channels: ["#mobile"] })).toBe(false);
    expect(m({ authors: ["alice"] })).toBe(true);
    expect(m({ authors: ["bob"] })).toBe(false);
    expect(m({ excludeChannels: ["#auth"] })).toBe(false);
    expect(m({ excludeAuthors: ["bob"] })).toBe(true);
    expect(m({ channels: ["#auth"], authors: ["bob"] })).toBe(false);
  });

  it("compares times in whole seconds, inclusive on both ends", () => {
    expect(m({ from: new Date("2025-11-15T12:00:00.900Z") })).toBe(true);
    expect(m({ from: new Date("2025-11-15T12:00:01.000Z") })).toBe(false);
    expect(m({ to: new Date("2025-11-15T12:00:00.000Z") })).toBe(true);
    expect(m({ to: new Date("2025-11-15T11:59:59.999Z") })).toBe(false);
  });

  it("leaves sources, mentions, has: and is:thread to PostgreSQL", () => {
    expect(answeredByFacts({ channels: ["#a"], authors: ["x"], from: new Date(0) })).toBe(true);
    expect(answeredByFacts({ sources: ["acme"] })).toBe(false);
    expect(answeredByFacts({ mentions: ["U1"] })).toBe(false);
    expect(answeredByFacts({ has: ["link"] })).toBe(false);
    expect(answeredByFacts({ inThread: true })).toBe(false);
  });
});

describe("cachedFactsFilter", () => {
  const rows = new Map<number, MessageFacts>([
    [1, facts("#auth", "alice", "2025-11-01T00:00:00Z")],
    [2, facts("#mobile", "bob", "2025-11-02T00:00:00Z")],
    [3, facts("#auth", "bob", "2025-11-03T00:00:00Z")],
  ]);

  it("answers what the source answers, reading each message's facts once while they are fresh", async () => {
    const { source, calls } = memorySource(new Map(rows));
    let clock = 1_000;
    const filter = cachedFactsFilter(source, { maxEntries: 100, ttlMs: 30_000, now: () => clock });
    const viewer = { channels: ["#auth"] };
    for (const filters of [
      viewer,
      { authors: ["bob"] },
      { channels: ["#auth"], excludeAuthors: ["alice"] },
    ]) {
      expect(await filter.matching([1, 2, 3, 99], filters)).toEqual(
        await source.matching([1, 2, 3, 99], filters),
      );
    }
    // 99 has no row: asked again each time (absence is not remembered); 1-3 were read once.
    expect(calls.factsOf).toEqual([[1, 2, 3, 99], [99], [99]]);
    // Past the TTL every fact is read again.
    clock += 30_001;
    expect(await filter.matching([1, 2], viewer)).toEqual(new Set([1]));
    expect(calls.factsOf.at(-1)).toEqual([1, 2]);
  });

  it("sees a message's new channel once its facts are read again, and not before", async () => {
    const live = new Map(rows);
    const { source } = memorySource(live);
    // lru-cache reads a start time of 0 as "never expires"; real clocks are past it.
    let clock = 1_000;
    const filter = cachedFactsFilter(source, { maxEntries: 100, ttlMs: 10_000, now: () => clock });
    expect(await filter.matching([2], { channels: ["#auth"] })).toEqual(new Set());
    live.set(2, facts("#auth", "bob", "2025-11-02T00:00:00Z"));
    clock += 5_000;
    expect(await filter.matching([2], { channels: ["#auth"] })).toEqual(new Set());
    clock += 5_001;
    expect(await filter.matching([2], { channels: ["#auth"] })).toEqual(new Set([2]));
  });

  it("sends filters the facts cannot answer to the source's own check", async () => {
    const { source, calls } = memorySource(new Map(rows));
    const filter = cachedFactsFilter(source, { maxEntries: 100, ttlMs: 30_000 });
    await filter.matching([1, 2], { sources: ["acme"] });
    await filter.matching([1, 2], { channels: ["#auth"], inThread: true });
    expect(calls.matching).toBe(2);
    expect(calls.factsOf).toEqual([]);
  });

  it("holds at most maxEntries messages, dropping the least recently used first", async () => {
    const many = new Map<number, MessageFacts>();
    for (let id = 1; id <= 50; id++) many.set(id, facts(`#c${id % 3}`, "alice", "2025-11-01T00:00:00Z"));
    const { source, calls } = memorySource(many);
    const filter = cachedFactsFilter(source, { maxEntries: 20, ttlMs: 60_000 });
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    await filter.matching(ids(1, 20), { channels: ["#c1"] });
    await filter.matching(ids(21, 30), { channels: ["#c1"] });
    // 30 read into 20 places: the least recently used 10 went; 11-30 are still held.
    calls.factsOf.length = 0;
    await filter.matching(ids(11, 30), { channels: ["#c1"] });
    expect(calls.factsOf).toEqual([]);
    await filter.matching(ids(1, 12), { channels: ["#c1"] });
    expect(calls.factsOf).toEqual([ids(1, 10)]);
  });

  it("is the source itself with maxEntries 0 or a TTL of 0", () => {
    const { source } = memorySource(new Map(rows));
    expect(cachedFactsFilter(source, { maxEntries: 0, ttlMs: 30_000 })).toBe(source);
    expect(cachedFactsFilter(source, { maxEntries: 100, ttlMs: 0 })).toBe(source);
  });
});
