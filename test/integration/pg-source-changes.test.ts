import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgMessageStore } from "../../functions/adapters/postgres/pg-message-store";
import type { MessageInput } from "../../functions/core/model";
import type { SourceChange } from "../../functions/core/source-change";
import { createTestDatabase, type TestDatabase } from "../helpers/test-db";

const source = { type: "slack", name: "T0PGTEST" };
const msg = (externalId: string, content: string): MessageInput => ({
  externalId,
  channel: "C1",
  author: "U1",
  content,
  timestamp: new Date("2025-12-01T10:00:00Z"),
  threadId: null,
  metadata: {},
});
const upsert = (
  eventId: string,
  externalId: string,
  content: string,
  sourceTimeUs: bigint,
): SourceChange => ({
  kind: "upsert",
  eventId,
  source,
  message: msg(externalId, content),
  sourceTimeUs,
});
const remove = (eventId: string, externalId: string, sourceTimeUs: bigint): SourceChange => ({
  kind: "delete",
  eventId,
  source,
  externalId,
  sourceTimeUs,
});

const T = 1_764_583_200_000_000n; // 2025-12-01T10:00:00Z in µs

describe("PgMessageStore.applySourceChange (real PostgreSQL)", () => {
  let db: TestDatabase;
  let store: PgMessageStore;
  const rowOf = async (externalId: string) =>
    (
      await db.pool.query(
        `SELECT content, version::int, deleted_at, source_updated_at,
                (extract(epoch FROM source_updated_at) * 1000000)::bigint::text AS us
         FROM messages WHERE external_id = $1`,
        [externalId],
      )
    ).rows[0];
  const outboxOf = async (externalId: string) =>
    (
      await db.pool.query(
        `SELECT o.target, o.op, o.version::int FROM outbox o JOIN messages m ON m.id = o.message_id
         WHERE m.external_id = $1 ORDER BY o.id`,
        [externalId],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase("srcchg");
    store = new PgMessageStore(db.pool);
  });
  afterAll(async () => db?.drop());

  it("the same event id applied concurrently has one effect: one created, the other a duplicate", async () => {
    const change = upsert("Ev-dup", "C1:1.000001", "hello", T);
    const results = await Promise.all([store.applySourceChange(change), store.applySourceChange(change)]);
    expect(results.map((r) => r.outcome.status).sort()).toEqual(["created", "duplicate"]);
    expect(results.flatMap((r) => r.outboxIds)).toHaveLength(2); // one change x (keyword, vector)
    expect(await outboxOf("C1:1.000001")).toEqual([
      { target: "keyword", op: "upsert", version: 1 },
      { target: "vector", op: "upsert", version: 1 },
    ]);
    // Dedupe is by event id, before any ordering rule: even a newer change under a used id is dropped.
    const reused = await store.applySourceChange(upsert("Ev-dup", "C1:1.000001", "hello again", T + 10n));
    expect(reused.outcome.status).toBe("duplicate");
    expect((await rowOf("C1:1.000001")).content).toBe("hello");
  });

  it("orders by the source time to the microsecond (a change 1 µs older arriving later is stale)", async () => {
    const id = "C1:2.000001";
    expect((await store.applySourceChange(upsert("Ev-a", id, "v1", T))).outcome.status).toBe("created");
    expect((await store.applySourceChange(upsert("Ev-c", id, "v3", T + 2n))).outcome.status).toBe("updated");
    const late = await store.applySourceChange(upsert("Ev-b", id, "v2", T + 1n));
    expect(late).toEqual({
      outcome: {
        eventId: "Ev-b",
        externalId: id,
        status: "stale",
        messageId: expect.any(Number),
        version: 2,
      },
      outboxIds: [],
    });
    expect(await rowOf(id)).toMatchObject({ content: "v3", version: 2, us: String(T + 2n) });
  });

  it("concurrent changes to one message serialise to the same final state as any order", async () => {
    const id = "C1:3.000001";
    const changes = [
      upsert("Ev-3a", id, "first", T),
      upsert("Ev-3b", id, "second", T + 100n),
      upsert("Ev-3c", id, "third", T + 200n),
      remove("Ev-3d", id, T + 300n),
      upsert("Ev-3e", id, "after delete", T + 400n),
    ];
    await Promise.all(changes.map((c) => store.applySourceChange(c)));
    const row = await rowOf(id);
    expect(row?.deleted_at).toEqual(new Date(Number((T + 300n) / 1000n)));
    expect(await db.pool.query("SELECT 1 FROM source_tombstones WHERE external_id = $1", [id])).toMatchObject(
      {
        rowCount: 1,
      },
    );
  });

  it("a delete before any create writes only a tombstone; the create then stays out", async () => {
    const id = "C1:4.000001";
    expect((await store.applySourceChange(remove("Ev-4d", id, T + 5n))).outcome).toMatchObject({
      status: "deleted",
      messageId: null,
    });
    expect((await store.applySourceChange(upsert("Ev-4c", id, "ghost", T))).outcome.status).toBe(
      "ignored_deleted",
    );
    expect(await rowOf(id)).toBeUndefined();
    expect((await store.applySourceChange(remove("Ev-4e", id, T + 6n))).outcome.status).toBe(
      "already_deleted",
    );
  });

  it("a Slack change to a row written by POST /messages (no source time yet) applies", async () => {
    const id = "C1:5.000001";
    await store.ingest(source, [msg(id, "from the API")]);
    const res = await store.applySourceChange(upsert("Ev-5", id, "from Slack", T));
    expect(res.outcome).toMatchObject({ status: "updated", version: 2 });
    expect(await rowOf(id)).toMatchObject({ content: "from Slack", us: String(T) });
  });

  it("a newer change with identical content moves the source time on without a new version", async () => {
    const id = "C1:6.000001";
    await store.applySourceChange(upsert("Ev-6a", id, "same", T));
    const touch = await store.applySourceChange(upsert("Ev-6b", id, "same", T + 50n));
    expect(touch).toMatchObject({ outcome: { status: "unchanged", version: 1 }, outboxIds: [] });
    expect(await rowOf(id)).toMatchObject({ version: 1, us: String(T + 50n) });
    expect((await store.applySourceChange(upsert("Ev-6c", id, "older", T + 20n))).outcome.status).toBe(
      "stale",
    );
  });
});
