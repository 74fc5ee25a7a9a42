import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgMessageFilter } from "../../functions/adapters/postgres/pg-message-filter";
import { PgMessageStore } from "../../functions/adapters/postgres/pg-message-store";
import type { MessageInput, SearchFilters } from "../../functions/core/model";
import { cachedFactsFilter, factsMatcher } from "../../functions/core/search/message-facts";
import { createTestDatabase, type TestDatabase } from "../helpers/test-db";

/** The semantic leg's filter in SQL must mean what the Chroma where filter means. */

const msg = (externalId: string, channel: string, author: string, timestamp: string): MessageInput => ({
  externalId,
  channel,
  author,
  content: `message ${externalId}`,
  timestamp: new Date(timestamp),
  threadId: null,
});

describe("PgMessageFilter (real PostgreSQL)", () => {
  let db: TestDatabase;
  let filter: PgMessageFilter;
  const ids = new Map<string, number>();
  let all: number[] = [];
  const match = async (filters: SearchFilters, among = all) => {
    const got = await filter.matching(among, filters);
    return [...ids].filter(([, id]) => got.has(id)).map(([ext]) => ext);
  };

  beforeAll(async () => {
    db = await createTestDatabase("msgfilter");
    const store = new PgMessageStore(db.pool);
    filter = new PgMessageFilter(db.pool);
    const acme = await store.ingest({ type: "slack", name: "acme" }, [
      msg("a", "#auth-team", "alice@company.com", "2025-11-01T00:00:00.000Z"),
      msg("b", "#platform", "bob@company.com", "2025-11-15T12:00:00.700Z"),
      msg("c", "#auth-team", "bob@company.com", "2025-11-30T23:59:59.900Z"),
    ]);
    const app = await store.ingest({ type: "app", name: "acme" }, [
      msg("d", "#auth-team", "alice@company.com", "2025-12-02T08:00:00Z"),
    ]);
    const other = await store.ingest({ type: "slack", name: "globex" }, [
      msg("e", "#mobile", "carol@company.com", "2025-10-01T08:00:00Z"),
    ]);
    for (const o of [...acme.outcomes, ...app.outcomes, ...other.outcomes])
      ids.set(o.externalId, o.messageId);
    all = [...ids.values()];
  });
  afterAll(async () => db?.drop());

  it("keeps only the given ids, and all of them without filters", async () => {
    expect(await match({})).toEqual(["a", "b", "c", "d", "e"]);
    expect(await match({}, [ids.get("b")!, 999_999])).toEqual(["b"]);
    expect(await filter.matching([], { channels: ["#platform"] })).toEqual(new Set());
  });

  it("filters channels and authors (one or many), all filters together", async () => {
    expect(await match({ channels: ["#auth-team"] })).toEqual(["a", "c", "d"]);
    expect(await match({ channels: ["#platform", "#mobile"] })).toEqual(["b", "e"]);
    expect(await match({ authors: ["bob@company.com"] })).toEqual(["b", "c"]);
    expect(await match({ channels: ["#auth-team"], authors: ["bob@company.com"] })).toEqual(["c"]);
  });

  it("filters sources by name or by type:name", async () => {
    expect(await match({ sources: ["acme"] })).toEqual(["a", "b", "c", "d"]);
    expect(await match({ sources: ["app:acme"] })).toEqual(["d"]);
    expect(await match({ sources: ["slack:acme", "globex"] })).toEqual(["a", "b", "c", "e"]);
  });

  it("compares timestamps in whole seconds, inclusive on both ends (as the Chroma filter does)", async () => {
    expect(
      await match({ from: new Date("2025-11-15T12:00:00.900Z"), to: new Date("2025-11-30T23:59:59.000Z") }),
    ).toEqual(["b", "c"]);
    expect(await match({ from: new Date("2025-11-01T00:00:00.001Z") })).toEqual(["a", "b", "c", "d"]);
    expect(await match({ to: new Date("2025-10-31T23:59:59Z") })).toEqual(["e"]);
  });

  it("estimates a filter's share of all messages from the planner's statistics", async () => {
    // Never analysed: no statistics, so no estimate (the caller falls back to a fixed overfetch).
    const fresh = new PgMessageFilter(db.pool);
    await db.pool.query("UPDATE pg_class SET reltuples = -1 WHERE oid = 'messages'::regclass");
    expect(await fresh.estimatedShare({ channels: ["#auth-team"] })).toBeUndefined();

    await db.pool.query("ANALYZE messages; ANALYZE sources");
    const analysed = new PgMessageFilter(db.pool);
    const share = (f: SearchFilters) => analysed.estimatedShare(f);
    // 5 messages: #auth-team holds 3, #mobile 1; the planner sees the whole (tiny) table.
    const auth = await share({ channels: ["#auth-team"] });
    const mobile = await share({ channels: ["#mobile"] });
    expect(auth).toBeGreaterThan(0.4);
    expect(auth).toBeLessThanOrEqual(0.8);
    expect(mobile).toBeGreaterThan(0);
    expect(mobile).toBeLessThan(auth!);
    expect(await share({ to: new Date("2030-01-01T00:00:00Z") })).toBeGreaterThan(0.8);
    expect(await share({ from: new Date("2030-01-01T00:00:00Z") })).toBeLessThan(0.3);
    // Every filter kind is accepted; shares stay within 0..1.
    const all = await share({
      channels: ["#auth-team", "#platform"],
      authors: ["bob@company.com"],
      sources: ["slack:acme", "globex"],
      from: new Date("2025-11-01T00:00:00Z"),
      to: new Date("2025-12-31T00:00:00Z"),
    });
    expect(all).toBeGreaterThanOrEqual(0);
    expect(all).toBeLessThanOrEqual(1);

    // Estimates are reused for a minute per filter combination: statistics reset meanwhile do not
    // reach this instance, while a new one sees them.
    await db.pool.query("UPDATE pg_class SET reltuples = -1 WHERE oid = 'messages'::regclass");
    expect(await share({ channels: ["#auth-team"] })).toBe(auth);
    expect(await new PgMessageFilter(db.pool).estimatedShare({ channels: ["#auth-team"] })).toBeUndefined();
    await db.pool.query("ANALYZE messages");
  });
  it("lists a filter's live embedded messages with their vector versions, or null past the cap", async () => {
    // Embedded: a (version 3), c (version 7 after a re-embedding), d; b never embedded; e deleted.
    const set = (ext: string, version: number) =>
      db.pool.query("UPDATE messages SET vector_version = $2 WHERE id = $1", [ids.get(ext), version]);
    await set("a", 3);
    await set("c", 7);
    await set("d", 12_345_678_901);
    await set("e", 1);
    await db.pool.query("UPDATE messages SET deleted_at = now() WHERE id = $1", [ids.get("e")]);
    try {
      const refs = async (filters: SearchFilters, max = 10) => {
        const got = await filter.embeddedMatching(filters, max);
        return got && [...got].sort((x, y) => x.messageId - y.messageId);
      };
      expect(await refs({ channels: ["#auth-team"] })).toEqual([
        { messageId: ids.get("a"), vectorVersion: 3 },
        { messageId: ids.get("c"), vectorVersion: 7 },
        { messageId: ids.get("d"), vectorVersion: 12_345_678_901 },
      ]);
      expect(await refs({ channels: ["#platform", "#mobile"] })).toEqual([]);
      expect(await refs({ authors: ["bob@company.com"] })).toEqual([
        { messageId: ids.get("c"), vectorVersion: 7 },
      ]);
      // More matches than the cap: null (the caller then uses the store's own filter).
      expect(await refs({ channels: ["#auth-team"] }, 2)).toBeNull();
      expect(await refs({ channels: ["#auth-team"] }, 3)).toHaveLength(3);
    } finally {
      await db.pool.query("UPDATE messages SET vector_version = NULL, deleted_at = NULL");
    }
  });
  it("reads messages' channel, author and whole-second time, whose check means what the SQL check means", async () => {
    const got = await filter.factsOf([...all, 999_999]);
    expect(got.get(ids.get("b")!)).toEqual({
      channel: "#platform",
      author: "bob@company.com",
      epochSeconds: Math.floor(Date.parse("2025-11-15T12:00:00.700Z") / 1000),
    });
    expect(got.has(999_999)).toBe(false);
    expect(await filter.factsOf([])).toEqual(new Map());
    const cases: SearchFilters[] = [
      { channels: ["#auth-team"], authors: ["bob@company.com"] },
      { excludeChannels: ["#auth-team"], excludeAuthors: ["carol@company.com"] },
      { from: new Date("2025-11-15T12:00:00.900Z"), to: new Date("2025-11-30T23:59:59.000Z") },
    ];
    for (const filters of cases) {
      const matches = factsMatcher(filters);
      const byFacts = all.filter((id) => matches(got.get(id)!));
      expect(new Set(byFacts)).toEqual(await filter.matching(all, filters));
    }
  });
  it("with cached facts in front, checks like PostgreSQL and sees a re-sent message's new channel after the TTL", async () => {
    // lru-cache reads a start time of 0 as "never expires"; real clocks are past it.
    let clock = 1_000;
    const cached = cachedFactsFilter(filter, { maxEntries: 100, ttlMs: 30_000, now: () => clock });
    const filters: SearchFilters = { channels: ["#auth-team"], authors: ["bob@company.com"] };
    expect(await cached.matching(all, filters)).toEqual(await filter.matching(all, filters));
    const b = ids.get("b")!;
    expect(await cached.matching([b], { channels: ["#auth-team"] })).toEqual(new Set());
    // b is re-sent into #auth-team (an upsert by external id moves it).
    await new PgMessageStore(db.pool).ingest({ type: "slack", name: "acme" }, [
      { ...msg("b", "#auth-team", "bob@company.com", "2025-11-15T12:00:00.700Z"), content: "moved" },
    ]);
    try {
      clock += 29_000;
      expect(await cached.matching([b], { channels: ["#auth-team"] })).toEqual(new Set());
      clock += 1_001;
      expect(await cached.matching([b], { channels: ["#auth-team"] })).toEqual(new Set([b]));
    } finally {
      await new PgMessageStore(db.pool).ingest({ type: "slack", name: "acme" }, [
        msg("b", "#platform", "bob@company.com", "2025-11-15T12:00:00.700Z"),
      ]);
    }
  });
});
