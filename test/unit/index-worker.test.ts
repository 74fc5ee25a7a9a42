import { describe, expect, it } from "vitest";
import { applyKeywordJobs, applyVectorJobs } from "../../functions/core/index-worker";
import { ingestMessages } from "../../functions/core/ingest";
import { relayOutbox } from "../../functions/core/outbox-relay";
import {
  FixedEmbedder,
  MemoryKeywordIndex,
  MemoryPublisher,
  MemoryStore,
  MemoryVectorIndex,
} from "../helpers/memory-ports";

const rec = (recordId: string, messageId: number, version = 1, op: "upsert" | "delete" = "upsert") => ({
  recordId,
  job: { messageId, op, version },
});

describe("applyKeywordJobs", () => {
  it("writes the current row, not the job's version, and reports only failed records", async () => {
    const store = new MemoryStore();
    store.put({ id: 1, version: 3, content: "newest text" });
    store.put({ id: 2 });
    const index = new MemoryKeywordIndex();
    index.failIds.add(2);
    const res = await applyKeywordJobs({ store, keywordIndex: index }, [
      rec("r1", 1, 2),
      rec("r2", 2),
      rec("r3", 1, 3),
    ]);
    expect(res.failedRecordIds).toEqual(["r2"]);
    expect(index.docs.get(1)).toEqual({ version: 3, content: "newest text" });
    expect(store.applied).toEqual([{ target: "keyword", messageId: 1, version: 3 }]);
  });

  it("removes soft-deleted and vanished rows", async () => {
    const store = new MemoryStore();
    store.put({ id: 1, version: 4, deletedAt: new Date() });
    const index = new MemoryKeywordIndex();
    index.docs.set(1, { version: 3, content: "x" });
    index.docs.set(9, { version: 1, content: "orphan" });
    const res = await applyKeywordJobs({ store, keywordIndex: index }, [
      rec("a", 1, 4, "delete"),
      rec("b", 9, 2, "delete"),
    ]);
    expect(res.failedRecordIds).toEqual([]);
    expect(index.docs.size).toBe(0);
    expect(store.applied).toContainEqual({ target: "keyword", messageId: 1, version: 4 });
  });
});

describe("applyVectorJobs", () => {
  it("embeds current rows, fails only a wrong-dimension item, and records embedding ids", async () => {
    const store = new MemoryStore();
    store.put({ id: 1, content: "good" });
    store.put({ id: 2, content: "poison" });
    const vectorIndex = new MemoryVectorIndex();
    const embedder = new FixedEmbedder(4, new Set(["poison"]));
    const res = await applyVectorJobs({ store, vectorIndex, embedder }, [rec("r1", 1), rec("r2", 2)]);
    expect(res.failedRecordIds).toEqual(["r2"]);
    expect(res.errors[0]!.error).toMatch(/dimension_mismatch/);
    expect([...vectorIndex.vectors.keys()]).toEqual([1]);
    expect(embedder.calls).toBe(1);
    expect(store.applied).toEqual([{ target: "vector", messageId: 1, version: 1 }]);
  });

  it("fails every upsert record when the embedder is down, but still applies deletes", async () => {
    const store = new MemoryStore();
    store.put({ id: 1 });
    store.put({ id: 2, deletedAt: new Date(), version: 2 });
    const vectorIndex = new MemoryVectorIndex();
    vectorIndex.vectors.set(2, [1, 0, 0, 0]);
    const embedder = new FixedEmbedder();
    embedder.embed = async () => {
      throw new Error("model unavailable");
    };
    const res = await applyVectorJobs({ store, vectorIndex, embedder }, [
      rec("r1", 1),
      rec("r2", 2, 2, "delete"),
    ]);
    expect(res.failedRecordIds).toEqual(["r1"]);
    expect(vectorIndex.vectors.has(2)).toBe(false);
  });
});

describe("ingest + outbox relay", () => {
  it("publishes both targets after commit and leaves rejected entries pending for the relay", async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    publisher.rejectIds.add("2"); // SendMessageBatch reports entry 2 as Failed
    const msg = { externalId: "x", channel: "#c", author: "a", content: "hi", timestamp: new Date() };
    await ingestMessages({ store, outbox: store, publisher }, { type: "slack", name: "acme" }, [msg]);
    expect(publisher.published.map((p) => p.target)).toEqual(["keyword"]);
    expect(await store.countPending()).toBe(1);
    publisher.rejectIds.clear();
    expect(await relayOutbox({ outbox: store, publisher })).toEqual({ sent: 1, failed: 0 });
    expect(publisher.published.map((p) => p.target).sort()).toEqual(["keyword", "vector"]);
    expect(await store.countPending()).toBe(0);
  });

  it("accepts the write even when the queue is down (the relay delivers later)", async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    publisher.down = true;
    const warnings: string[] = [];
    const msg = { externalId: "x", channel: "#c", author: "a", content: "hi", timestamp: new Date() };
    const outcomes = await ingestMessages(
      { store, outbox: store, publisher, warn: (m) => warnings.push(m) },
      { type: "slack", name: "acme" },
      [msg],
    );
    expect(outcomes[0]!.status).toBe("created");
    expect(await store.countPending()).toBe(2);
    expect(warnings).toHaveLength(0); // drain swallows the failure and counts attempts instead
    publisher.down = false;
    expect(await relayOutbox({ outbox: store, publisher })).toEqual({ sent: 2, failed: 0 });
  });
});
