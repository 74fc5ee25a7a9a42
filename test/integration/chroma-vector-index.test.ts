import { randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ChromaVectorIndex } from "../../functions/adapters/chroma/chroma-vector-index";
import { PermanentError } from "../../functions/core/errors";
import type { StoredMessage } from "../../functions/core/model";
import { chromaClient, chromaQueryHttp } from "../../functions/shared/clients";

// These tests exercise the store, not semantic quality: small deterministic vectors are enough.
const DIM = 8;
const MODEL = "test-model-dim8";

const LINES = [
  "Heads up: the staging deploy runs after standup, please hold merges until it is green",
  "Who owns the OAuth2 token refresh? Users get logged out every hour on mobile",
  "Postgres failover drill is scheduled for Thursday 14:00 UTC, expect a 30s blip",
  "Can someone review my PR for the billing webhook retries? It is blocking the release",
  "The flaky checkout test was a timezone bug, fixed in main now",
];

function message(id: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    sourceId: 1,
    source: { type: "slack", name: "acme" },
    externalId: `C024BE91L-${1700000000 + id}.000100`,
    channel: id % 2 === 0 ? "#platform" : "#auth-team",
    author: "dana@acme.io",
    content: LINES[id % LINES.length]!,
    timestamp: new Date(Date.UTC(2025, 11, 14, 18, 58, 32, 750) + id * 60_000),
    threadId: id % 3 === 0 ? `1700000000.${id}` : null,
    metadata: { reactions: [] },
    embeddingId: `msg_${id}`,
    version: 1,
    contentHash: `hash-${id}`,
    deletedAt: null,
    ...overrides,
  };
}

/** Unit basis vector e_i (cosine 1 with itself, 0 with any other basis vector). */
function basis(i: number): number[] {
  return Array.from({ length: DIM }, (_, k) => (k === i % DIM ? 1 : 0));
}

/** A deterministic, non-degenerate vector per seed. */
function vec(seed: number): number[] {
  return Array.from({ length: DIM }, (_, k) => Math.sin(seed * 12.9898 + k * 78.233) + 1.5);
}

const client = chromaClient();
const created: ChromaVectorIndex[] = [];
const names: string[] = [];

function newIndex(): ChromaVectorIndex {
  const idx = new ChromaVectorIndex(client, `test_vectors_${randomUUID().slice(0, 8)}`, {
    modelId: MODEL,
    dimension: DIM,
  });
  created.push(idx);
  names.push(idx.collectionName);
  return idx;
}

afterEach(async () => {
  await Promise.all(created.splice(0).map((idx) => idx.deleteCollection()));
});

afterAll(async () => {
  // Shared server: nothing this file created may be left behind.
  const left = (await client.listCollections({ limit: 10_000 })).map((c) => c.name);
  expect(left.filter((n) => names.includes(n))).toEqual([]);
});

describe("ChromaVectorIndex", () => {
  it("creates a cosine collection that records the model, and round-trips vectors with cosine scores", async () => {
    const idx = newIndex();
    // Read-only lookups never create the collection.
    expect(await idx.exists()).toBe(false);
    expect(await idx.collectionModel()).toBeNull();
    expect(await idx.exists()).toBe(false);
    const collection = await idx.ensureCollection();
    expect(collection.configuration.hnsw?.space).toBe("cosine");
    expect(await idx.exists()).toBe(true);
    expect(await idx.collectionModel()).toEqual({ modelId: MODEL, dimension: DIM });

    const rows = [0, 1, 2, 3].map((i) => ({ message: message(10 + i), embedding: basis(i) }));
    await idx.upsert(rows);
    expect(await idx.count()).toBe(4);

    // Scaled copy of e_1: cosine ignores length, so message 11 scores ~1 and the others ~0.
    const hits = await idx.query(
      basis(1).map((x) => x * 3),
      {},
      10,
    );
    expect(hits).toHaveLength(4); // nResults above the collection size returns what there is
    expect(hits[0]!.messageId).toBe(11);
    expect(hits[0]!.score).toBeCloseTo(1, 5);
    for (const h of hits.slice(1)) expect(h.score).toBeCloseTo(0, 5);

    const stored = await collection.get({ ids: ["msg_13", "msg_12"], include: ["metadatas", "documents"] });
    const byId = new Map(
      stored.ids.map((id, i) => [id, { meta: stored.metadatas[i], doc: stored.documents[i] }]),
    );
    expect(byId.get("msg_13")?.doc).toBe(message(13).content);
    expect(byId.get("msg_13")?.meta).toEqual({
      message_id: 13,
      source: "acme",
      source_type: "slack",
      channel: "#auth-team",
      author: "dana@acme.io",
      timestamp: Math.floor(message(13).timestamp.getTime() / 1000),
      version: 1,
      model: MODEL,
    });
    // thread_id only when the message has one (Chroma metadata cannot hold null).
    expect(byId.get("msg_12")?.meta?.["thread_id"]).toBe("1700000000.12");
    expect(Number.isInteger(byId.get("msg_12")?.meta?.["timestamp"])).toBe(true);
  });

  it("reopens a collection deleted behind its back on the next call instead of failing until restarted", async () => {
    const idx = newIndex();
    await idx.upsert([{ message: message(1), embedding: basis(0) }]);
    await client.deleteCollection({ name: idx.collectionName });
    // The cached handle points at the deleted collection: this call fails and drops it ...
    await expect(idx.count()).rejects.toThrow();
    // ... so the retry opens (creates) the collection again.
    expect(await idx.count()).toBe(0);
    await idx.upsert([{ message: message(2), embedding: basis(1) }]);
    expect(await idx.count()).toBe(1);
  });

  it("answers an empty list from an empty collection and for a zero limit", async () => {
    const idx = newIndex();
    expect(await idx.query(vec(1), {}, 5)).toEqual([]);
    await idx.upsert([{ message: message(1), embedding: vec(1) }]);
    expect(await idx.query(vec(1), {}, 0)).toEqual([]);
  });

  it("rejects a wrong dimension as a PermanentError before writing anything", async () => {
    const idx = newIndex();
    const batch = [
      { message: message(21), embedding: vec(21) },
      { message: message(22), embedding: vec(22).slice(0, DIM - 1) },
    ];
    const err = await idx.upsert(batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe("dimension_mismatch");
    expect((err as PermanentError).retryable).toBe(false);
    expect(await idx.count()).toBe(0);
    expect((await idx.getVersions([21, 22])).size).toBe(0);

    await expect(idx.query(vec(1).slice(0, 4), {}, 3)).rejects.toMatchObject({ code: "dimension_mismatch" });
  });

  it("never lets an older version overwrite a newer vector", async () => {
    const idx = newIndex();
    const v3 = message(30, { version: 3, content: "Incident closed: root cause was an expired TLS cert" });
    const v2 = message(30, { version: 2, content: "Investigating 502s on the API gateway" });
    await idx.upsert([{ message: v3, embedding: basis(0) }]);
    await idx.upsert([{ message: v2, embedding: basis(1) }]);

    expect(await idx.getVersions([30])).toEqual(new Map([[30, { messageId: 30, version: 3, model: MODEL }]]));
    const got = await (await idx.ensureCollection()).get({ ids: ["msg_30"], include: ["documents"] });
    expect(got.documents[0]).toBe(v3.content);
    const [top] = await idx.query(basis(0), {}, 1);
    expect(top).toMatchObject({ messageId: 30 });
    expect(top!.score).toBeCloseTo(1, 5);

    // Same version again (e.g. a re-embed) is written; a newer one replaces it.
    const v4 = message(30, { version: 4, content: "Postmortem doc is up for review" });
    await idx.upsert([{ message: v4, embedding: basis(2) }]);
    expect((await idx.getVersions([30])).get(30)?.version).toBe(4);
    expect((await idx.query(basis(2), {}, 1))[0]?.score).toBeCloseTo(1, 5);

    // Within one batch, the highest version of a message wins.
    await idx.upsert([
      { message: message(31, { version: 2 }), embedding: vec(2) },
      { message: message(31, { version: 1 }), embedding: vec(1) },
    ]);
    expect((await idx.getVersions([31])).get(31)?.version).toBe(2);
  });

  it("removes vectors, for explicit removes and for soft-deleted rows, and tolerates missing ids", async () => {
    const idx = newIndex();
    await idx.upsert([40, 41, 42, 43].map((id) => ({ message: message(id), embedding: vec(id) })));
    await idx.remove([40, 999_999]);
    expect(await idx.count()).toBe(3);

    await idx.upsert([{ message: message(41, { version: 2, deletedAt: new Date() }), embedding: [] }]);
    expect(await idx.count()).toBe(2);
    expect([...(await idx.getVersions([40, 41, 42, 43])).keys()].sort()).toEqual([42, 43]);
    await idx.remove([]);
    expect(await idx.count()).toBe(2);
  });

  it("lists versions page by page without gaps or duplicates", async () => {
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
    expect(seen).toHaveLength(25);
    expect(new Set(seen.map((s) => s.messageId)).size).toBe(25);
    const expected = rows.map((r) => ({ messageId: r.message.id, version: r.message.version, model: MODEL }));
    expect([...seen].sort((a, b) => a.messageId - b.messageId)).toEqual(expected);
  });

  it("restricts a query with a where filter on channel", async () => {
    const idx = newIndex();
    // Even ids are #platform, odd ids #auth-team; all vectors point roughly the same way.
    await idx.upsert([50, 51, 52, 53, 54, 55].map((id) => ({ message: message(id), embedding: vec(id) })));
    const hits = await idx.queryWhere(vec(51), { channel: "#platform" }, 10);
    expect(hits.map((h) => h.messageId).sort()).toEqual([50, 52, 54]);

    // The same through the port, with the where built from SearchFilters.
    const viaFilters = await idx.query(vec(51), { channels: ["#platform"] }, 10);
    expect(viaFilters.map((h) => h.messageId).sort()).toEqual([50, 52, 54]);
    const recent = await idx.query(vec(51), { channels: ["#auth-team"], from: message(53).timestamp }, 10);
    expect(recent.map((h) => h.messageId).sort()).toEqual([53, 55]);
    const none = await idx.query(vec(51), { authors: ["nobody@acme.io"] }, 10);
    expect(none).toEqual([]);

    const since = Math.floor(message(53).timestamp.getTime() / 1000);
    const recentAuth = await idx.queryWhere(
      vec(51),
      { $and: [{ channel: "#auth-team" }, { timestamp: { $gte: since } }] },
      10,
    );
    expect(recentAuth.map((h) => h.messageId).sort()).toEqual([53, 55]);
  });

  /** The same collection read through another adapter instance (its transport). */
  function sameCollection(idx: ChromaVectorIndex, opts: { lean?: boolean }) {
    return new ChromaVectorIndex(client, idx.collectionName, {
      modelId: MODEL,
      dimension: DIM,
      ...(opts.lean ? { queryHttp: chromaQueryHttp() } : {}),
    });
  }

  it("searches among given messages only, nearest first, and fails for a message without a vector", async () => {
    const idx = newIndex();
    await idx.upsert([60, 61, 62, 63, 64].map((id) => ({ message: message(id), embedding: basis(id) })));
    // Basis vectors: each is at cosine 1 from itself and 0 from the others.
    const among = await idx.queryAmong(basis(62), [60, 62, 63], 10);
    expect(among.map((h) => h.messageId).sort()).toEqual([60, 62, 63]);
    expect(among[0]).toEqual({ messageId: 62, score: expect.closeTo(1, 5) });
    const limited = await idx.queryAmong(basis(63), [60, 61, 62, 63, 64], 1);
    expect(limited.map((h) => h.messageId)).toEqual([63]);
    expect(await idx.queryAmong(basis(63), [], 5)).toEqual([]);
    // An unknown id fails; the semantic leg then falls back to the where filter.
    await expect(idx.queryAmong(basis(63), [63, 999_999], 5)).rejects.toThrow();
  });

  it("reads stored vectors by id through both transports; ids without a vector are absent", async () => {
    const idx = newIndex();
    await idx.upsert([80, 81].map((id) => ({ message: message(id), embedding: vec(id) })));
    for (const lean of [false, true]) {
      const got = await sameCollection(idx, { lean }).vectorsOf([80, 81, 999_999]);
      expect([...got.keys()].sort()).toEqual([80, 81]);
      got.get(81)!.forEach((x, k) => {
        expect(x).toBeCloseTo(vec(81)[k]!, 5);
      });
    }
  });

  it("the node:http query transport answers exactly as chromadb's client does, errors included", async () => {
    const idx = newIndex();
    await idx.upsert([70, 71, 72, 73, 74, 75].map((id) => ({ message: message(id), embedding: vec(id) })));
    const lean = sameCollection(idx, { lean: true });
    const plain = sameCollection(idx, {});
    expect(await lean.query(vec(71), {}, 4)).toEqual(await idx.query(vec(71), {}, 4));
    expect(await lean.query(vec(71), { channels: ["#platform"] }, 10)).toEqual(
      await idx.query(vec(71), { channels: ["#platform"] }, 10),
    );
    expect(await lean.queryAmong(vec(72), [70, 73], 5)).toEqual(await plain.queryAmong(vec(72), [70, 73], 5));
    await expect(lean.queryAmong(vec(72), [70, 999_999], 5)).rejects.toThrow(
      /Chroma query failed: HTTP 5\d\d/,
    );
  });
});
