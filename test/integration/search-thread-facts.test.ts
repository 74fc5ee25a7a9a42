import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DemoMessage } from "../../local/demo-messages";
import { ingestAndWait, startTestApp, type TestApp } from "../helpers/local-app";

/**
 * Grouping's facts come from what the search process read recently (core/search/thread-facts.ts).
 * A hit deleted in PostgreSQL while both indexes still hold it (index drift, before the delete's jobs
 * or the reconciler reach them) must not take its thread off the page: the page's read finds it gone,
 * the search reads those facts again and shows the thread through its next live member.
 */
const SOURCE = { type: "app", name: "thread-facts" };
const MESSAGES: DemoMessage[] = [
  {
    external_id: "F-1",
    channel: "#incidents",
    author: "judy@company.com",
    content: "Failover drill for the orders database tonight, post failover findings here.",
    timestamp: "2025-12-10T12:00:00Z",
    thread_id: "F-1",
  },
  ...Array.from({ length: 5 }, (_, i) => ({
    external_id: `F-1-r${i + 1}`,
    channel: "#incidents",
    author: i % 2 === 0 ? "oscar@company.com" : "peggy@company.com",
    content: `Failover finding ${i + 1}: the orders replica ${i + 1} was promoted in ${20 + i} seconds.`,
    timestamp: new Date(Date.parse("2025-12-10T12:05:00Z") + i * 60_000).toISOString(),
    thread_id: "F-1",
  })),
  {
    external_id: "lunch",
    channel: "#random",
    author: "ivan@company.com",
    content: "Lunch at the noodle place on Friday?",
    timestamp: "2025-12-10T13:00:00Z",
  },
];

interface Hit {
  message_id: number;
  external_id: string;
  thread?: { reply_count: number; other_matching_ids: number[] };
}

describe("grouping over kept thread facts (real PostgreSQL, OpenSearch, Chroma)", () => {
  let t: TestApp;
  const search = async (strategy: string) => {
    const qs = new URLSearchParams({ q: "failover findings", strategy, group: "thread", limit: "10" });
    const res = await t.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body as { results: Hit[] }).results;
  };
  const threadResults = (results: Hit[]) => results.filter((r) => r.external_id.startsWith("F-1"));

  beforeAll(async () => {
    t = await startTestApp("search-thread-facts");
    await ingestAndWait(t, SOURCE, MESSAGES);
  });
  afterAll(async () => t?.close());

  it.each(["hybrid", "bm25", "semantic"])(
    "%s: a hit deleted behind the indexes' back leaves its thread on the page through its next member",
    async (strategy) => {
      const before = threadResults(await search(strategy));
      expect(before, "the thread takes one result").toHaveLength(1);
      const first = before[0]!;
      const members = [first.message_id, ...(first.thread?.other_matching_ids ?? [])];
      expect(members.length).toBeGreaterThan(1);
      // Soft-deleted in PostgreSQL only: both indexes keep ranking it, and the facts this process
      // read a moment ago still call it live.
      await t.db.pool.query("UPDATE messages SET deleted_at = now() WHERE id = $1", [first.message_id]);
      try {
        const after = threadResults(await search(strategy));
        expect(after, "the thread still takes one result").toHaveLength(1);
        const shown = [after[0]!.message_id, ...(after[0]!.thread?.other_matching_ids ?? [])];
        expect(shown).not.toContain(first.message_id);
        expect(shown.sort()).toEqual(members.filter((id) => id !== first.message_id).sort());
      } finally {
        await t.db.pool.query("UPDATE messages SET deleted_at = NULL WHERE id = $1", [first.message_id]);
      }
    },
  );
});
