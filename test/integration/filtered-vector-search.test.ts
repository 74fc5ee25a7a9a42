import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChromaVectorIndex } from "../../functions/adapters/chroma/chroma-vector-index";
import { PgMessageFilter } from "../../functions/adapters/postgres/pg-message-filter";
import { PgMessageStore } from "../../functions/adapters/postgres/pg-message-store";
import type { SearchFilters } from "../../functions/core/model";
import type { NearestVectors } from "../../functions/core/ports";
import { filteredVectorSearch } from "../../functions/core/search/filtered-vector-search";
import { VectorCache } from "../../functions/core/search/vector-cache";
import { chromaClient } from "../../functions/shared/clients";
import { createTestDatabase, type TestDatabase } from "../helpers/test-db";

/**
 * The semantic leg's filter paths against real PostgreSQL and Chroma: every path must return
 * exactly what Chroma's own filtered query returns (the reference), whichever path the filter's
 * share sends it down.
 */
const DIM = 8;
const MODEL = "test-model-dim8";
const SIZE = 300;
/** Every 25th message is in #rare (4%); the rest alternate between #even and #odd. */
const channelOf = (i: number) => (i % 25 === 0 ? "#rare" : i % 2 === 0 ? "#even" : "#odd");
const vec = (seed: number) => Array.from({ length: DIM }, (_, k) => Math.sin(seed * 12.9898 + k * 78.233));

describe("filteredVectorSearch (real PostgreSQL and Chroma)", () => {
  let db: TestDatabase;
  let store: PgMessageStore;
  let index: ChromaVectorIndex;
  let filter: PgMessageFilter;
  const calls: string[] = [];
  /** The real index, with each call's kind recorded. */
  let recorded: NearestVectors;
  // Small caps so a 300-message collection exercises every path: #rare (4%) needs
  // 10 x 2 / 0.04 = 500 candidates > 100, so it searches among ids.
  const settings = {
    margin: 2,
    overfetch: 40,
    maxCandidates: 100,
    maxIds: 50,
    maxExact: 50,
    maxFetchedExact: 0,
  };

  beforeAll(async () => {
    db = await createTestDatabase("filtered_vectors");
    store = new PgMessageStore(db.pool);
    const { outcomes } = await store.ingest(
      { type: "slack", name: "acme" },
      Array.from({ length: SIZE }, (_, i) => ({
        externalId: `m${i}`,
        channel: channelOf(i),
        author: i % 3 === 0 ? "alice@company.com" : "bob@company.com",
        content: `message ${i}`,
        timestamp: new Date(Date.UTC(2025, 10, 1) + i * 3_600_000),
        threadId: null,
      })),
    );
    const rows = await store.getByIds(outcomes.map((o) => o.messageId));
    index = new ChromaVectorIndex(chromaClient(), `test_filtered_${randomUUID().slice(0, 8)}`, {
      modelId: MODEL,
      dimension: DIM,
    });
    // Message m<i> gets vec(i); one #rare message stays without a vector (drift) until a test adds it.
    const missing = rows.find((r) => r.externalId === "m275")!;
    await index.upsert(
      rows
        .filter((r) => r !== missing)
        .map((r) => ({ message: r, embedding: vec(Number(r.externalId.slice(1))) })),
    );
    await store.recordApplied(
      "vector",
      rows.map((r) => ({ messageId: r.id, version: r.version, embeddingId: `msg_${r.id}`, model: MODEL })),
    );
    await db.pool.query("ANALYZE messages; ANALYZE sources");
    filter = new PgMessageFilter(db.pool);
    recorded = {
      query: (e, f, limit) => {
        calls.push(Object.keys(f).length === 0 ? `nearest ${limit}` : "where");
        return index.query(e, f, limit);
      },
      queryAmong: (e, ids, limit) => {
        calls.push(`among ${ids.length}`);
        return index.queryAmong(e, ids, limit);
      },
      vectorsOf: (ids) => {
        calls.push(`vectors ${ids.length}`);
        return index.vectorsOf(ids);
      },
    };
  });
  afterAll(async () => {
    await index?.deleteCollection();
    await db?.drop();
  });

  const check = async (filters: SearchFilters, limit = 10) => {
    calls.length = 0;
    const got = await filteredVectorSearch(recorded, filter, settings).query(vec(7), filters, limit);
    const taken = [...calls];
    const reference = await index.query(vec(7), filters, limit);
    expect(got.map((h) => h.messageId)).toEqual(reference.map((h) => h.messageId));
    expect(got.length).toBe(Math.min(limit, reference.length));
    return taken;
  };

  it("a broad filter is answered from unfiltered candidates checked in PostgreSQL", async () => {
    // #odd is ~48%: 10 x 2 / 0.48 = ~42 candidates, no filtered query.
    const taken = await check({ channels: ["#odd"] });
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatch(/^nearest (4\d)$/);
  });

  it("a selective filter whose messages all have vectors searches among their ids", async () => {
    // alice in #rare: m0, m75, m150, m225 (4 messages).
    const taken = await check({ channels: ["#rare"], authors: ["alice@company.com"] });
    expect(taken).toEqual(["among 4"]);
  });

  it("a selective filter with a message missing from Chroma falls back to Chroma's where filter", async () => {
    // #rare holds 12 messages, m275 has no vector: the search among ids fails, the where query answers.
    const taken = await check({ channels: ["#rare"] });
    expect(taken).toEqual(["among 12", "where"]);
  });

  it("more matches than maxIds go to Chroma's where filter directly", async () => {
    // #even or #rare, by alice: ~54 messages (> maxIds 50) and a share of ~18% (10 x 2 / 0.18 = 111
    // candidates > maxCandidates 100): neither candidates nor ids, Chroma's own filter.
    const taken = await check({ channels: ["#even", "#rare"], authors: ["alice@company.com"] });
    expect(taken).toEqual(["where"]);
  });

  it("candidates that hold too few matches are widened, and still give exactly the nearest matching", async () => {
    // The statistics claim every message is alice's (a third are): 10 x 2 / 1 = 20 candidates hold
    // ~7 of hers, so a wider list follows, sized from the share those 20 showed; no search among ids.
    const hopeful: typeof filter = Object.assign(Object.create(filter) as typeof filter, {
      estimatedShare: async () => 1,
    });
    const filters = { authors: ["alice@company.com"] };
    calls.length = 0;
    const got = await filteredVectorSearch(recorded, hopeful, settings).query(vec(7), filters, 10);
    const reference = await index.query(vec(7), filters, 10);
    expect(got.map((h) => h.messageId)).toEqual(reference.map((h) => h.messageId));
    expect(got).toHaveLength(10);
    expect(calls[0]).toBe("nearest 20");
    expect(calls.slice(1)).toEqual([expect.stringMatching(/^nearest (\d+)$/)]);
    expect(Number(calls[1]!.split(" ")[1])).toBeGreaterThan(20);
  });

  it("without a cache, a small selective filter is an exact scan of its fetched vectors, ranked and scored as Chroma's search among ids", async () => {
    const filters = {
      channels: ["#rare"],
      authors: ["bob@company.com"],
      to: new Date(Date.UTC(2025, 10, 12)),
    };
    const refs = (await filter.embeddedMatching(filters, 50))!.map((r) => r.messageId);
    const chroma = await index.queryAmong(vec(7), refs, 5);
    expect(chroma).toHaveLength(5);
    calls.length = 0;
    const exact = await filteredVectorSearch(recorded, filter, { ...settings, maxFetchedExact: 50 }).query(
      vec(7),
      filters,
      5,
    );
    expect(calls).toEqual([`vectors ${refs.length}`]);
    expect(exact.map((h) => h.messageId)).toEqual(chroma.map((h) => h.messageId));
    for (const [i, h] of exact.entries()) expect(h.score).toBeCloseTo(chroma[i]!.score, 5);
  });

  it("with a vector cache, a selective filter is an exact scan of its vectors, each fetched once", async () => {
    const cache = new VectorCache(1 << 20);
    const filters = { channels: ["#rare"], authors: ["alice@company.com"] };
    const search = filteredVectorSearch(recorded, filter, settings, cache);
    calls.length = 0;
    const first = await search.query(vec(7), filters, 3);
    const second = await search.query(vec(7), filters, 3);
    const reference = await index.query(vec(7), filters, 3);
    expect(first.map((h) => h.messageId)).toEqual(reference.map((h) => h.messageId));
    for (const [i, h] of first.entries()) expect(h.score).toBeCloseTo(reference[i]!.score, 5);
    expect(second).toEqual(first);
    expect(calls).toEqual(["vectors 4"]);
  });

  it("with a vector cache, an edited message is scored with its new vector", async () => {
    const cache = new VectorCache(1 << 20);
    // bob in #rare, m25..m250 without m275 (no vector): edit m100 and give it the query's own vector.
    const filters = {
      channels: ["#rare"],
      authors: ["bob@company.com"],
      to: new Date(Date.UTC(2025, 10, 12)),
    };
    const search = filteredVectorSearch(recorded, filter, settings, cache);
    const before = await search.query(vec(7), filters, 8);
    const m100 = (await store.getByIds(before.map((h) => h.messageId))).find((r) => r.externalId === "m100")!;
    expect(before[0]!.messageId).not.toBe(m100.id);
    await store.ingest({ type: "slack", name: "acme" }, [
      {
        externalId: "m100",
        channel: "#rare",
        author: "bob@company.com",
        content: "message 100, edited",
        timestamp: m100.timestamp,
        threadId: null,
      },
    ]);
    const [edited] = await store.getByIds([m100.id]);
    expect(edited!.version).toBeGreaterThan(m100.version);
    await index.upsert([{ message: edited!, embedding: vec(7) }]);
    await store.recordApplied("vector", [
      { messageId: edited!.id, version: edited!.version, embeddingId: `msg_${edited!.id}`, model: MODEL },
    ]);
    calls.length = 0;
    const after = await search.query(vec(7), filters, 8);
    expect(calls).toEqual(["vectors 1"]);
    expect(after[0]).toEqual({ messageId: m100.id, score: expect.closeTo(1, 5) });
    expect(after.map((h) => h.messageId).sort()).toEqual(before.map((h) => h.messageId).sort());
  });

  it("a filter matching nothing returns nothing", async () => {
    const taken = await check({ channels: ["#nowhere"] });
    expect(taken).toEqual([]);
  });
});
