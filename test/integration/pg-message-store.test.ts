import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgMessageStore } from "../../functions/adapters/postgres/pg-message-store";
import type { MessageInput } from "../../functions/core/model";
import { createTestDatabase, type TestDatabase } from "../helpers/test-db";

const source = { type: "slack", name: "acme" };
const msg = (externalId: string, content: string, extra: Partial<MessageInput> = {}): MessageInput => ({
  externalId,
  channel: "#platform",
  author: "judy@company.com",
  content,
  timestamp: new Date("2025-12-01T10:00:00Z"),
  threadId: null,
  metadata: { reactions: 1 },
  ...extra,
});

describe("PgMessageStore (real PostgreSQL)", () => {
  let db: TestDatabase;
  let store: PgMessageStore;
  const outboxRows = async () =>
    (await db.pool.query("SELECT message_id, target, op, version FROM outbox ORDER BY id")).rows;

  beforeAll(async () => {
    db = await createTestDatabase("store");
    store = new PgMessageStore(db.pool);
  });
  afterAll(async () => db?.drop());

  it("creates, then treats an identical re-send as unchanged with no new outbox rows", async () => {
    const first = await store.ingest(source, [
      msg("a1", "Postgres CPU at 85%"),
      msg("a2", "Reindex tonight"),
    ]);
    expect(first.outcomes.map((o) => o.status)).toEqual(["created", "created"]);
    expect(first.outboxIds).toHaveLength(4); // two messages x (keyword, vector)
    const again = await store.ingest(source, [
      msg("a2", "Reindex tonight"),
      msg("a1", "Postgres CPU at 85%"),
    ]);
    expect(again.outcomes.map((o) => [o.externalId, o.status])).toEqual([
      ["a2", "unchanged"],
      ["a1", "unchanged"],
    ]);
    expect(again.outcomes[1]!.messageId).toBe(first.outcomes[0]!.messageId);
    expect(again.outboxIds).toEqual([]);
    // metadata key order does not make a re-send look different
    const reordered = await store.ingest(source, [
      msg("a1", "Postgres CPU at 85%", { metadata: { reactions: 1 } }),
    ]);
    expect(reordered.outcomes[0]!.status).toBe("unchanged");
    expect(await outboxRows()).toHaveLength(4);
  });

  it("bumps the version and writes outbox rows when content changes", async () => {
    const res = await store.ingest(source, [msg("a1", "Postgres CPU at 95% now")]);
    expect(res.outcomes[0]).toMatchObject({ status: "updated", version: 2 });
    const rows = await outboxRows();
    expect(rows.slice(-2)).toEqual([
      { message_id: String(res.outcomes[0]!.messageId), target: "keyword", op: "upsert", version: "2" },
      { message_id: String(res.outcomes[0]!.messageId), target: "vector", op: "upsert", version: "2" },
    ]);
    const [row] = await store.getByIds([res.outcomes[0]!.messageId]);
    expect(row).toMatchObject({
      content: "Postgres CPU at 95% now",
      version: 2,
      source: source,
      deletedAt: null,
    });
  });

  it("soft-deletes with a version bump, is idempotent, and a re-send restores the message", async () => {
    const id = (await store.ingest(source, [msg("d1", "to be deleted")])).outcomes[0]!.messageId;
    const del = await store.softDelete(id);
    expect(del).toMatchObject({ version: 2, changed: true });
    expect(del!.outboxIds).toHaveLength(2);
    expect(await store.softDelete(id)).toMatchObject({ version: 2, changed: false, outboxIds: [] });
    expect(await store.softDelete(999_999)).toBeNull();
    const [row] = await store.getByIds([id]);
    expect(row!.deletedAt).toBeInstanceOf(Date);
    const back = await store.ingest(source, [msg("d1", "to be deleted")]);
    expect(back.outcomes[0]).toMatchObject({ messageId: id, status: "updated", version: 3 });
  });

  it("reads a grouped page in one query: hits, their threads' live parents, live reply counts", async () => {
    const at = (minute: number) => new Date(Date.UTC(2025, 11, 2, 9, minute));
    const ids = (
      await store.ingest(source, [
        msg("t-parent", "Failover drill on Thursday?", {
          channel: "#ops",
          timestamp: at(0),
          threadId: "t-parent",
        }),
        msg("t-r1", "Thursday works", { channel: "#ops", timestamp: at(1), threadId: "t-parent" }),
        msg("t-r2", "I will run the runbook", { channel: "#ops", timestamp: at(2), threadId: "t-parent" }),
        msg("t-r3", "Deleted reply", { channel: "#ops", timestamp: at(3), threadId: "t-parent" }),
        msg("solo", "Nobody answered this", { channel: "#ops", timestamp: at(4) }),
        msg("u-parent", "Parent that gets deleted", {
          channel: "#ops",
          timestamp: at(5),
          threadId: "u-parent",
        }),
        msg("u-r1", "Reply to a deleted parent", { channel: "#ops", timestamp: at(6), threadId: "u-parent" }),
      ])
    ).outcomes.map((o) => o.messageId!);
    const [parent, , r2, r3, solo, uParent, uReply] = ids as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    await store.softDelete(r3);
    await store.softDelete(uParent);

    const page = await store.liveMessagesWithThreads([r2, solo, uReply, r3]);
    // The hits and the live parent of r2's thread; not the deleted hit, not the deleted parent, not the other reply t-r1.
    expect([...page.rows.keys()].sort((a, b) => a - b)).toEqual(
      [parent, r2, solo, uReply].sort((a, b) => a - b),
    );
    expect(page.rows.get(parent)).toMatchObject({ content: "Failover drill on Thursday?", channel: "#ops" });
    expect(page.threads.get(r2)).toEqual({ parentId: parent, replyCount: 2 });
    expect(page.threads.get(solo)).toEqual({ parentId: solo, replyCount: 0 });
    expect(page.threads.get(uReply)).toEqual({ parentId: null, replyCount: 1 });
    // A parent read only as a parent has no thread entry; a deleted hit has none either.
    expect(page.threads.has(parent)).toBe(false);
    expect(page.threads.has(r3)).toBe(false);
    expect(await store.liveMessagesWithThreads([])).toEqual({ rows: new Map(), threads: new Map() });
  });

  it("keeps the same external_id in different sources apart", async () => {
    const other = await store.ingest({ type: "slack", name: "globex" }, [msg("a1", "Postgres CPU at 85%")]);
    expect(other.outcomes[0]!.status).toBe("created");
  });

  it("records applied versions without ever moving them backwards", async () => {
    const id = (await store.ingest(source, [msg("v1", "versioned")])).outcomes[0]!.messageId;
    await store.recordApplied("keyword", [{ messageId: id, version: 3 }]);
    await store.recordApplied("keyword", [{ messageId: id, version: 2 }]);
    await store.recordApplied("vector", [
      { messageId: id, version: 3, embeddingId: `msg_${id}`, model: "m" },
    ]);
    await store.recordApplied("vector", [{ messageId: id, version: 2, embeddingId: null }]);
    const r = await db.pool.query(
      "SELECT keyword_version, vector_version, embedding_id FROM messages WHERE id = $1",
      [id],
    );
    expect(r.rows[0]).toEqual({ keyword_version: "3", vector_version: "3", embedding_id: `msg_${id}` });
  });

  it("drain marks sent only what the publisher accepted", async () => {
    const pending = await store.countPending();
    expect(pending).toBeGreaterThan(2);
    let offered = 0;
    const res = await store.drain({ limit: 1000 }, async (entries) => {
      offered = entries.length;
      return new Set(entries.slice(1).map((e) => e.id)); // the first one "fails"
    });
    expect(res).toEqual({ sent: offered - 1, failed: 1 });
    expect(await store.countPending()).toBe(1);
    const left = await db.pool.query("SELECT attempts, last_error FROM outbox WHERE sent_at IS NULL");
    expect(left.rows[0]).toEqual({ attempts: 1, last_error: "not accepted by the queue" });
  });

  it("rolls back the whole batch when one row is invalid (nothing stored)", async () => {
    const before = await db.pool.query("SELECT count(*)::int AS n FROM messages");
    await expect(
      store.ingest(source, [msg("ok1", "fine"), msg("bad\u0000", "NUL in a text column")]),
    ).rejects.toThrow();
    const after = await db.pool.query("SELECT count(*)::int AS n FROM messages");
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});
