import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ChromaVectorIndex } from "../../functions/adapters/chroma/chroma-vector-index";
import { OpenSearchVectorIndex } from "../../functions/adapters/opensearch/opensearch-vector-index";
import { PermanentError } from "../../functions/core/errors";
import type { SearchFilters, StoredMessage } from "../../functions/core/model";
import type { VectorCollection } from "../../functions/core/ports";
import { exactNearest } from "../../functions/core/search/exact-nearest";
import { chromaClient, chromaQueryHttp, openSearchVectorClient } from "../../functions/shared/clients";

/**
 * The vector port's contract, run against every store VECTOR_STORE can pick: Chroma and the
 * OpenSearch k-NN node (`stack up --knn`). Semantic quality is not the point: small deterministic
 * vectors are enough. Store-specific behaviour stays in each adapter's own test.
 */
const DIM = 8;
const MODEL = "test-model-dim8";

interface Store {
  readonly name: string;
  open(collection: string): VectorCollection;
  /** Collections this file created that the server still holds. */
  leftovers(names: readonly string[]): Promise<string[]>;
}

const stores: Store[] = [
  {
    name: "chroma",
    open: (collection) =>
      new ChromaVectorIndex(chromaClient(), collection, {
        modelId: MODEL,
        dimension: DIM,
        queryHttp: chromaQueryHttp(),
      }),
    leftovers: async (names) =>
      (await chromaClient().listCollections({ limit: 10_000 }))
        .map((c) => c.name)
        .filter((n) => names.includes(n)),
  },
  {
    name: "opensearch",
    // Tests query right after writing; the workers leave OpenSearch's 1 s refresh alone.
    open: (collection) =>
      new OpenSearchVectorIndex(openSearchVectorClient(), collection, {
        modelId: MODEL,
        dimension: DIM,
        refreshOnWrite: true,
      }),
    leftovers: async (names) => {
      const left: string[] = [];
      for (const n of names)
        if ((await openSearchVectorClient().indices.exists({ index: n })).body) left.push(n);
      return left;
    },
  },
];

const LINES = [
  "Heads up: the staging deploy runs after standup, please hold merges until it is green",
  "Who owns the OAuth2 token refresh? Users get logged out every hour on mobile <@U024BE7LH>",
  "Postgres failover drill is scheduled for Thursday 14:00 UTC, see https://wiki.acme.io/drill",
  "Can someone review my PR for the billing webhook retries? It is blocking the release",
  "The flaky checkout test was a timezone bug, fixed in main now",
];

function message(id: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    sourceId: 1,
    source: { type: "slack", name: id % 5 === 0 ? "globex" : "acme" },
    externalId: `C024BE91L-${1700000000 + id}.000100`,
    channel: id % 2 === 0 ? "#platform" : "#auth-team",
    author: id % 4 === 1 ? "lee@acme.io" : "dana@acme.io",
    content: LINES[id % LINES.length]!,
    timestamp: new Date(Date.UTC(2025, 11, 14, 18, 58, 32, 750) + id * 60_000),
    threadId: id % 3 === 0 ? `1700000000.${id}` : null,
    metadata: { reactions: id % 7 === 0 ? [{ name: "eyes", count: 1 }] : [] },
    embeddingId: `msg_${id}`,
    version: 1,
    contentHash: `hash-${id}`,
    deletedAt: null,
    ...overrides,
  };
}

function basis(i: number): number[] {
  return Array.from({ length: DIM }, (_, k) => (k === i % DIM ? 1 : 0));
}

function vec(seed: number): number[] {
  return Array.from(
    { length: DIM },
    (_, k) => Math.sin(seed * 12.9898 + k * 78.233) + 1.5 * Math.cos(seed + k),
  );
}

const ids = (hits: readonly { messageId: number }[]) => hits.map((h) => h.messageId);

describe.each(stores)("vector store contract: $name", (store) => {
  const created: VectorCollection[] = [];
  const names: string[] = [];

  function newIndex(): VectorCollection {
    const idx = store.open(`test-vectors-${randomUUID().slice(0, 8)}`);
    created.push(idx);
    names.push(idx.collectionName);
    return idx;
  }

  afterEach(async () => {
    await Promise.all(created.splice(0).map((idx) => idx.deleteCollection()));
  });

  afterAll(async () => {
    // Shared servers: nothing this file created may be left behind.
    expect(await store.leftovers(names)).toEqual([]);
  });

  it("records the model on a new collection and scores by cosine similarity", async () => {
    const idx = newIndex();
    expect(await idx.exists()).toBe(false);
    expect(await idx.collectionModel()).toBeNull();
    expect(await idx.exists()).toBe(false);
    await idx.ensureCollection();
    expect(await idx.exists()).toBe(true);
    expect(await idx.collectionModel()).toEqual({ modelId: MODEL, dimension: DIM });
    expect(await idx.query(vec(1), {}, 5)).toEqual([]);

    await idx.upsert([0, 1, 2, 3].map((i) => ({ message: message(10 + i), embedding: basis(i) })));
    expect(await idx.count()).toBe(4);
    const hits = await idx.query(
      basis(1).map((x) => x * 3),
      {},
      10,
    );
    expect(hits).toHaveLength(4);
    expect(hits[0]).toEqual({ messageId: 11, score: expect.closeTo(1, 5) });
    for (const h of hits.slice(1)) expect(h.score).toBeCloseTo(0, 5);
    expect(await idx.query(vec(1), {}, 0)).toEqual([]);
  });

  it("ranks as an exact cosine scan does", async () => {
    const idx = newIndex();
    const rows = Array.from({ length: 30 }, (_, i) => ({
      message: message(100 + i),
      embedding: vec(100 + i),
    }));
    await idx.upsert(rows);
    const exact = exactNearest(
      vec(7),
      rows.map((r) => ({ messageId: r.message.id, vector: r.embedding })),
      5,
    );
    const hits = await idx.query(vec(7), {}, 5);
    expect(ids(hits)).toEqual(ids(exact));
    hits.forEach((h, i) => {
      expect(h.score).toBeCloseTo(exact[i]!.score, 4);
    });
  });

  it("rejects a wrong dimension as a PermanentError before writing anything", async () => {
    const idx = newIndex();
    const err = await idx
      .upsert([
        { message: message(21), embedding: vec(21) },
        { message: message(22), embedding: vec(22).slice(0, DIM - 1) },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe("dimension_mismatch");
    expect(await idx.count()).toBe(0);
    expect((await idx.getVersions([21, 22])).size).toBe(0);
    await expect(idx.query(vec(1).slice(0, 4), {}, 3)).rejects.toMatchObject({ code: "dimension_mismatch" });
  });

  it("keeps the highest version: an older write never replaces a newer vector, an equal one does", async () => {
    const idx = newIndex();
    await idx.upsert([{ message: message(30, { version: 3 }), embedding: basis(0) }]);
    await idx.upsert([{ message: message(30, { version: 2 }), embedding: basis(1) }]);
    expect(await idx.getVersions([30, 31])).toEqual(
      new Map([[30, { messageId: 30, version: 3, model: MODEL }]]),
    );
    expect((await idx.query(basis(0), {}, 1))[0]).toEqual({ messageId: 30, score: expect.closeTo(1, 5) });

    // The same version again (a re-embed with another model keeps the row's version) is written.
    await idx.upsert([{ message: message(30, { version: 3 }), embedding: basis(2) }]);
    expect((await idx.query(basis(2), {}, 1))[0]).toEqual({ messageId: 30, score: expect.closeTo(1, 5) });
    await idx.upsert([{ message: message(30, { version: 4 }), embedding: basis(3) }]);
    expect((await idx.getVersions([30])).get(30)?.version).toBe(4);

    // Within one batch, the highest version of a message wins.
    await idx.upsert([
      { message: message(31, { version: 2 }), embedding: vec(2) },
      { message: message(31, { version: 1 }), embedding: vec(1) },
    ]);
    expect((await idx.getVersions([31])).get(31)?.version).toBe(2);
  });

  it("removes vectors, for explicit removes and soft-deleted rows, and tolerates missing ids", async () => {
    const idx = newIndex();
    await idx.upsert([40, 41, 42, 43].map((id) => ({ message: message(id), embedding: vec(id) })));
    await idx.remove([40, 999_999]);
    expect(await idx.count()).toBe(3);
    await idx.upsert([{ message: message(41, { version: 2, deletedAt: new Date() }), embedding: [] }]);
    // A delete of an older version than stored leaves the vector.
    await idx.upsert([{ message: message(42, { version: 0, deletedAt: new Date() }), embedding: [] }]);
    expect(await idx.count()).toBe(2);
    expect([...(await idx.getVersions([40, 41, 42, 43])).keys()].sort()).toEqual([42, 43]);
    expect(ids(await idx.query(vec(41), {}, 10)).sort()).toEqual([42, 43]);
    await idx.remove([]);
  });

  it("lists versions page by page without gaps or duplicates, also while orphans are removed", async () => {
    const idx = newIndex();
    const rows = Array.from({ length: 25 }, (_, i) => ({
      message: message(100 + i, { version: (i % 4) + 1 }),
      embedding: vec(i),
    }));
    await idx.upsert(rows);
    const seen: { messageId: number; version: number; model?: string }[] = [];
    for (let offset = 0; ; offset += 10) {
      const page = await idx.listVersions(offset, 10);
      seen.push(...page);
      if (page.length < 10) break;
    }
    const expected = rows.map((r) => ({ messageId: r.message.id, version: r.message.version, model: MODEL }));
    expect([...seen].sort((a, b) => a.messageId - b.messageId)).toEqual(expected);

    // The reconciler's walk: remove some of each page, the next page starts that much earlier.
    const kept: number[] = [];
    for (let offset = 0; ; ) {
      const page = await idx.listVersions(offset, 10);
      const orphans = page.filter((v) => v.messageId % 3 === 0).map((v) => v.messageId);
      kept.push(...page.filter((v) => v.messageId % 3 !== 0).map((v) => v.messageId));
      await idx.remove(orphans);
      offset += page.length - orphans.length;
      if (page.length < 10) break;
    }
    expect(kept.sort()).toEqual(rows.map((r) => r.message.id).filter((id) => id % 3 !== 0));
    expect(await idx.count()).toBe(kept.length);
  });

  it("applies the search filters inside the nearest-neighbour query", async () => {
    const idx = newIndex();
    const all = Array.from({ length: 24 }, (_, i) => 50 + i);
    await idx.upsert(all.map((id) => ({ message: message(id), embedding: vec(id) })));
    const check = async (filters: SearchFilters, keep: (m: StoredMessage) => boolean) => {
      const want = all.filter((id) => keep(message(id)));
      const hits = await idx.query(vec(51), filters, 50);
      expect(ids(hits).sort(), JSON.stringify(filters)).toEqual(want);
    };
    await check({ channels: ["#platform"] }, (m) => m.channel === "#platform");
    await check({ authors: ["lee@acme.io"] }, (m) => m.author === "lee@acme.io");
    await check({ sources: ["globex"] }, (m) => m.source.name === "globex");
    await check({ sources: ["slack:acme"] }, (m) => m.source.name === "acme");
    await check({ excludeChannels: ["#platform"] }, (m) => m.channel !== "#platform");
    await check({ excludeAuthors: ["dana@acme.io"] }, (m) => m.author !== "dana@acme.io");
    const from = message(60).timestamp;
    const to = message(65).timestamp;
    await check({ from, to }, (m) => m.timestamp >= from && m.timestamp <= to);
    await check({ channels: ["#auth-team"], from }, (m) => m.channel === "#auth-team" && m.timestamp >= from);
    await check({ authors: ["nobody@acme.io"] }, () => false);
    // The viewer's readable channels arrive as a channel list like any other.
    await check(
      { channels: ["#platform", "#auth-team"], excludeAuthors: ["lee@acme.io"] },
      (m) => m.author !== "lee@acme.io",
    );
    if (idx.filtersInStore) {
      // `to:`, `has:` and `is:thread` too (Chroma's metadata lacks them: PostgreSQL checks those).
      await check({ mentions: ["U024BE7LH"] }, (m) => m.content.includes("<@U024BE7LH>"));
      await check({ has: ["link"] }, (m) => m.content.includes("https://"));
      await check({ has: ["reaction"] }, (m) => m.id % 7 === 0);
      await check({ inThread: true }, (m) => m.threadId !== null);
    }
    // A limit below the matches returns the nearest matching ones, best first.
    const hits = await idx.query(vec(51), { channels: ["#platform"] }, 3);
    const exact = exactNearest(
      vec(51),
      all.filter((id) => id % 2 === 0).map((id) => ({ messageId: id, vector: vec(id) })),
      3,
    );
    expect(ids(hits)).toEqual(ids(exact));
  });

  it("searches among given messages only, nearest first, and fails for a message without a vector", async () => {
    const idx = newIndex();
    await idx.upsert([60, 61, 62, 63, 64].map((id) => ({ message: message(id), embedding: basis(id) })));
    const among = await idx.queryAmong(basis(62), [60, 62, 63], 10);
    expect(ids(among).sort()).toEqual([60, 62, 63]);
    expect(among[0]).toEqual({ messageId: 62, score: expect.closeTo(1, 5) });
    expect(ids(await idx.queryAmong(basis(63), [60, 61, 62, 63, 64], 1))).toEqual([63]);
    expect(await idx.queryAmong(basis(63), [], 5)).toEqual([]);
    await expect(idx.queryAmong(basis(63), [63, 999_999], 5)).rejects.toThrow();
  });

  it("reads stored vectors back and answers many nearest-neighbour queries at once", async () => {
    const idx = newIndex();
    await idx.upsert([80, 81, 82, 83].map((id) => ({ message: message(id), embedding: basis(id) })));
    const vectors = await idx.vectorsOf([80, 82, 999_999]);
    expect([...vectors.keys()].sort()).toEqual([80, 82]);
    expect(Array.from(vectors.get(82)!)).toEqual(basis(82));
    const answers = await idx.nearestMany([Float32Array.from(basis(81)), Float32Array.from(basis(83))], 2);
    expect(answers.map((a) => a[0]?.messageId)).toEqual([81, 83]);
    expect(answers.every((a) => a.length === 2)).toBe(true);
  });

  it("starts over after the collection is deleted", async () => {
    const idx = newIndex();
    await idx.upsert([{ message: message(1), embedding: basis(0) }]);
    await idx.deleteCollection();
    expect(await idx.exists()).toBe(false);
    await idx.upsert([{ message: message(2), embedding: basis(1) }]);
    expect(await idx.count()).toBe(1);
    expect(await idx.collectionModel()).toEqual({ modelId: MODEL, dimension: DIM });
  });
});
