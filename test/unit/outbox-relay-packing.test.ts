import { describe, expect, it } from "vitest";
import { packJobs, publishCommitted, relayOutbox } from "../../functions/core/outbox-relay";
import { MemoryPublisher, MemoryStore } from "../helpers/memory-ports";

const job = (messageId: number) => ({ messageId, op: "upsert" as const, version: 1 });

async function storeWith(n: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  const msgs = Array.from({ length: n }, (_, i) => ({
    externalId: `m${i}`,
    channel: "#c",
    author: "a",
    content: `text ${i}`,
    timestamp: new Date("2025-01-01T00:00:00Z"),
  }));
  await store.ingest({ type: "slack", name: "acme" }, msgs);
  return store;
}

describe("packJobs", () => {
  it("groups jobs in order, up to N per message, the message id being its first entry's id", () => {
    const entries = [11, 12, 13, 14, 15].map((id) => ({ id, job: job(id * 10) }));
    const packed = packJobs(entries, 2);
    expect(packed.map((p) => p.message.id)).toEqual(["11", "13", "15"]);
    expect(packed.map((p) => p.entryIds)).toEqual([[11, 12], [13, 14], [15]]);
    expect(packed[1]?.message.jobs).toEqual([job(130), job(140)]);
    expect(packJobs(entries, 25)).toHaveLength(1);
    expect(packJobs(entries, 1).map((p) => p.entryIds)).toEqual([[11], [12], [13], [14], [15]]);
    expect(packJobs([], 25)).toEqual([]);
  });
});

describe("relayOutbox packing", () => {
  it("packs each target's rows separately, N jobs per message", async () => {
    const store = await storeWith(7); // 7 keyword + 7 vector outbox rows
    const publisher = new MemoryPublisher(3);
    expect(await relayOutbox({ outbox: store, publisher })).toEqual({ sent: 14, failed: 0 });
    const sizes = (target: string) =>
      publisher.messages.filter((m) => m.target === target).map((m) => m.jobs.length);
    expect(sizes("keyword")).toEqual([3, 3, 1]);
    expect(sizes("vector")).toEqual([3, 3, 1]);
    // Every message holds jobs of its own target only, and every job went out exactly once.
    expect(publisher.published.filter((p) => p.target === "keyword")).toHaveLength(7);
    expect(await store.countPending()).toBe(0);
  });

  it("a message reported Failed leaves exactly the outbox rows it carried unsent", async () => {
    const store = await storeWith(5);
    const publisher = new MemoryPublisher(2);
    const keywordRows = store.outbox.filter((e) => e.target === "keyword").map((e) => e.id);
    // The second keyword message carries keyword rows 3 and 4; SQS lists it under Failed.
    const failedIds = keywordRows.slice(2, 4);
    publisher.rejectIds.add(String(failedIds[0]));
    expect(await relayOutbox({ outbox: store, publisher })).toEqual({ sent: 8, failed: 2 });
    const pending = store.outbox.filter((e) => !e.sent).map((e) => e.id);
    expect(pending).toEqual(failedIds);
    // The next relay run delivers them (repacked), and nothing else is sent twice.
    publisher.rejectIds.clear();
    const before = publisher.published.length;
    expect(await relayOutbox({ outbox: store, publisher })).toEqual({ sent: 2, failed: 0 });
    expect(publisher.published.slice(before).map((p) => p.target)).toEqual(["keyword", "keyword"]);
    expect(await store.countPending()).toBe(0);
  });

  it("publishes every row of an explicit id list, however many (the fast path after a commit)", async () => {
    const store = await storeWith(150); // 300 outbox rows: more than one default round of 100
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    expect(await relayOutbox({ outbox: store, publisher: new MemoryPublisher() }, { ids })).toEqual({
      sent: 300,
      failed: 0,
    });
    expect(await store.countPending()).toBe(0);
  });

  it("publishCommitted logs a failing publish and leaves the rows for the scheduled relay", async () => {
    const store = await storeWith(2);
    const warnings: string[] = [];
    const broken = {
      jobsPerMessage: 25,
      publish: async () => {
        throw new Error("queue down");
      },
    };
    const outbox = {
      drain: () => Promise.reject(new Error("db down")),
      countPending: () => store.countPending(),
    };
    expect(
      await publishCommitted({ outbox, publisher: broken, warn: (m) => warnings.push(m) }, [1, 2, 3, 4]),
    ).toEqual({ sent: 0, failed: 4 });
    expect(warnings).toEqual(["outbox publish failed; the scheduled relay will retry"]);
    expect(await store.countPending()).toBe(4);
  });
});
