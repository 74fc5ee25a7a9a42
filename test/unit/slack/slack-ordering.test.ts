import { describe, expect, it } from "vitest";
import { messageHash } from "../../../functions/core/message-hash";
import type { SourceChangeStore } from "../../../functions/core/ports";
import { ingestSlackRecords } from "../../../functions/core/slack/slack-ingest";
import {
  decideDelete,
  decideUpsert,
  type SourceChange,
  type SourceChangeOutcome,
} from "../../../functions/core/source-change";
import { MemoryPublisher, MemoryStore } from "../../helpers/memory-ports";
import { type SlackPayload, slackFixture } from "../../helpers/slack-fixtures";

/** The Pg store's algorithm over Maps: same decisions (core), same hash. */
class MemorySourceStore extends MemoryStore implements SourceChangeStore {
  processed = new Set<string>();
  tombstones = new Set<string>();
  messages = new Map<
    string,
    {
      id: number;
      version: number;
      content: string;
      hash: string;
      sourceTimeUs: bigint | null;
      deleted: boolean;
    }
  >();

  async applySourceChange(change: SourceChange) {
    const externalId = change.kind === "upsert" ? change.message.externalId : change.externalId;
    const key = `${change.source.type}/${change.source.name}/${externalId}`;
    const row = this.messages.get(key);
    const out = (status: SourceChangeOutcome["status"]) => ({
      outcome: {
        eventId: change.eventId,
        externalId,
        status,
        messageId: row?.id ?? null,
        version: row?.version ?? null,
      },
      outboxIds: [] as number[],
    });
    if (this.processed.has(change.eventId)) return out("duplicate");
    this.processed.add(change.eventId);
    const state = {
      row: row ? { sourceTimeUs: row.sourceTimeUs, contentHash: row.hash, deleted: row.deleted } : null,
      tombstoned: this.tombstones.has(key),
    };
    if (change.kind === "delete") {
      const d = decideDelete(state);
      if (d === "already_deleted") return out("already_deleted");
      this.tombstones.add(key);
      if (d === "tombstone_only" || !row) return out("deleted");
      row.deleted = true;
      row.version++;
      return out("deleted");
    }
    const hash = messageHash(change.message);
    const d = decideUpsert(state, { sourceTimeUs: change.sourceTimeUs, contentHash: hash });
    if (d === "insert") {
      this.messages.set(key, {
        id: this.messages.size + 1,
        version: 1,
        content: change.message.content,
        hash,
        sourceTimeUs: change.sourceTimeUs,
        deleted: false,
      });
      return out("created");
    }
    if (!row || d === "deleted" || d === "stale") return out(d === "deleted" ? "ignored_deleted" : "stale");
    row.sourceTimeUs = change.sourceTimeUs;
    if (d === "touch") return out("unchanged");
    Object.assign(row, { content: change.message.content, hash, version: row.version + 1 });
    return out("updated");
  }

  finalState() {
    return [...this.messages.entries()]
      .filter(([, r]) => !r.deleted)
      .map(([k, r]) => ({ key: k, content: r.content }));
  }
}

const T0 = "1700000000.000100";
const message = (eventId: string, text: string, ts = T0): SlackPayload => {
  const p = slackFixture("message");
  Object.assign(p, { event_id: eventId });
  Object.assign(p.event, { text, ts, event_ts: ts });
  return p;
};
const edit = (eventId: string, text: string, editTs: string, ts = T0): SlackPayload => {
  const p = slackFixture("message-changed");
  p.event_id = eventId;
  p.event.ts = editTs;
  Object.assign(p.event.message, { text, ts, edited: { user: "U123ABC456", ts: editTs } });
  return p;
};
const del = (eventId: string, deleteTs: string, ts = T0): SlackPayload => {
  const p = slackFixture("message-deleted");
  p.event_id = eventId;
  Object.assign(p.event, { ts: deleteTs, deleted_ts: ts });
  return p;
};

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

async function run(events: readonly SlackPayload[], opts = { storeBots: true }) {
  const store = new MemorySourceStore();
  const res = await ingestSlackRecords(
    { store, outbox: store, publisher: new MemoryPublisher() },
    events.map((e, i) => ({ recordId: `r${i}`, body: JSON.stringify(e) })),
    opts,
  );
  expect(res.failedRecordIds).toEqual([]);
  return { store, res };
}

const created = message("E1", "Deploy at 10:00");
const edit1 = edit("E2", "Deploy at 11:00", "1700000100.000001");
const edit2 = edit("E3", "Deploy at 12:00", "1700000200.000001");
const deleted = del("E4", "1700000300.000001");
const KEY = "slack/T123ABC456/C123ABC456:1700000000.000100";

describe("Slack events: the final state does not depend on arrival order", () => {
  it("create + two edits, in all 6 orders, ends at the newest edit", async () => {
    for (const order of permutations([created, edit1, edit2])) {
      const { store } = await run(order);
      expect(store.finalState()).toEqual([{ key: KEY, content: "Deploy at 12:00" }]);
    }
  });

  it("an edit that arrives before its original is kept; the late original is stale", async () => {
    const { store, res } = await run([edit1, created]);
    expect(store.finalState()).toEqual([{ key: KEY, content: "Deploy at 11:00" }]);
    expect(res.counts).toEqual({ created: 1, stale: 1 });
  });

  it("create + edits + delete, in all 24 orders, ends deleted: no stale edit or late create resurrects it", async () => {
    for (const order of permutations([created, edit1, edit2, deleted])) {
      const { store } = await run(order);
      expect(store.finalState()).toEqual([]);
    }
    const { res } = await run([created, deleted, edit1, created]);
    expect(res.counts).toEqual({ created: 1, deleted: 1, ignored_deleted: 1, duplicate: 1 });
  });

  it("an edit back to the original text still moves the source time on (a late middle edit is stale)", async () => {
    const revert = edit("E5", "Deploy at 10:00", "1700000400.000001");
    for (const order of permutations([created, edit1, revert])) {
      const { store } = await run(order);
      expect(store.finalState()).toEqual([{ key: KEY, content: "Deploy at 10:00" }]);
    }
  });

  it("redelivered events (Slack retries, SQS redeliveries) collapse to one effect", async () => {
    const { store, res } = await run([created, created, edit1, created, edit1]);
    expect(res.counts).toEqual({ created: 1, updated: 1, duplicate: 3 });
    expect(store.messages.get(KEY)?.version).toBe(2);
  });

  it("a thread_broadcast and a reply with the same ts are one message, whichever comes first", async () => {
    const broadcast = slackFixture("thread-broadcast");
    const reply = slackFixture("thread-broadcast");
    reply.event_id = "EvReply";
    delete reply.event.subtype;
    delete reply.event.root;
    const a = await run([broadcast, reply]);
    const b = await run([reply, broadcast]);
    expect(a.store.messages.size).toBe(1);
    expect(a.store.finalState()).toEqual(b.store.finalState());
    expect([...a.store.messages.values()][0]?.hash).toBe([...b.store.messages.values()][0]?.hash);
  });

  it("ignores channel_join (acked, counted) and fails only the unparseable record of a batch", async () => {
    const store = new MemorySourceStore();
    const bad = message("E9", "x");
    bad.event.ts = "not-a-ts";
    const res = await ingestSlackRecords(
      { store, outbox: store, publisher: new MemoryPublisher() },
      [
        { recordId: "join", body: JSON.stringify(slackFixture("channel-join")) },
        { recordId: "bad", body: JSON.stringify(bad) },
        { recordId: "garbage", body: "{not json" },
        { recordId: "ok", body: JSON.stringify(created) },
      ],
      { storeBots: true },
    );
    expect(res.failedRecordIds).toEqual(["bad", "garbage"]);
    expect(res.counts).toEqual({ "ignored:subtype:channel_join": 1, failed: 2, created: 1 });
    expect(res.errors[0]).toMatchObject({ recordId: "bad", code: "validation_error" });
  });
});

describe("decisions", () => {
  const row = (sourceTimeUs: bigint | null, contentHash = "b", deleted = false) => ({
    row: { sourceTimeUs, contentHash, deleted },
    tombstoned: false,
  });
  it("newest source time wins; equal time goes to the greater hash; deletes are final", () => {
    expect(decideUpsert({ row: null, tombstoned: false }, { sourceTimeUs: 1n, contentHash: "a" })).toBe(
      "insert",
    );
    expect(decideUpsert({ row: null, tombstoned: true }, { sourceTimeUs: 9n, contentHash: "a" })).toBe(
      "deleted",
    );
    expect(decideUpsert(row(5n, "b", true), { sourceTimeUs: 9n, contentHash: "a" })).toBe("deleted");
    expect(decideUpsert(row(5n), { sourceTimeUs: 4n, contentHash: "z" })).toBe("stale");
    expect(decideUpsert(row(5n), { sourceTimeUs: 5n, contentHash: "a" })).toBe("stale");
    expect(decideUpsert(row(5n), { sourceTimeUs: 5n, contentHash: "b" })).toBe("stale");
    expect(decideUpsert(row(5n), { sourceTimeUs: 5n, contentHash: "c" })).toBe("update");
    expect(decideUpsert(row(5n), { sourceTimeUs: 6n, contentHash: "b" })).toBe("touch");
    expect(decideUpsert(row(null), { sourceTimeUs: 1n, contentHash: "c" })).toBe("update");
    expect(decideDelete({ row: null, tombstoned: false })).toBe("tombstone_only");
    expect(decideDelete(row(5n))).toBe("soft_delete");
    expect(decideDelete(row(5n, "b", true))).toBe("tombstone_only");
    expect(decideDelete({ row: null, tombstoned: true })).toBe("already_deleted");
  });
});
