import { describe, expect, it } from "vitest";
import type { LegHit } from "../../../functions/core/model";
import type { EnrichedMessage, ThreadReader } from "../../../functions/core/ports";
import type { HitFacts } from "../../../functions/core/search/grouping";
import { searchMessages } from "../../../functions/core/search/search-messages";
import { parseSearchRequest } from "../../../functions/core/search/search-request";
import { cachedThreadFacts } from "../../../functions/core/search/thread-facts";

const KEY = "test-cursor-secret-0123456789abcdef";

/**
 * 40 messages ranked 1..40 by both legs; messages 3..15 are one thread (3 the parent, 4..15 its
 * 12 replies), 20..22 another; message i was posted at minute (i * 7) % 40. `deleted` rows are gone.
 */
function world(deleted: Set<number> = new Set()) {
  const n = 40;
  const thread = (id: number) => (id >= 3 && id <= 15 ? "t3" : id >= 20 && id <= 22 ? "t20" : null);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const row = (id: number): EnrichedMessage => ({
    id,
    externalId: `m${id}`,
    content: `message ${id}`,
    author: "a",
    channel: "#c",
    timestamp: new Date(((id * 7) % 40) * 60_000),
    threadId: thread(id),
    source: { type: "app", name: "acme" },
    metadata: {},
  });
  const liveMessages = async (list: readonly number[]) =>
    new Map(list.filter((id) => !deleted.has(id) && id <= n).map((id) => [id, row(id)]));
  const threads: ThreadReader = {
    async facts(list) {
      return new Map(
        list.map((id): [number, HitFacts] => [
          id,
          {
            threadKey: thread(id) ?? `m${id}`,
            inThread: thread(id) !== null,
            timestamp: row(id).timestamp,
            live: !deleted.has(id),
          },
        ]),
      );
    },
    async around(list, k) {
      return new Map(
        list.map((id) => [
          id,
          { before: [id - k].filter((x) => x > 0), after: [id + k].filter((x) => x <= n) },
        ]),
      );
    },
  };
  const hits = (window: number): LegHit[] =>
    ids.slice(0, window).map((id, i) => ({ messageId: id, score: 1 - i / 100 }));
  return {
    deps: {
      keyword: { search: async (_q: unknown, _f: unknown, size: number) => hits(size) },
      semantic: async () => ({
        vector: { query: async (_e: number[], _f: unknown, limit: number) => hits(limit) },
        embedder: {
          modelId: "m",
          dimension: 1,
          embed: async (t: readonly string[]) => t.map(() => [1]),
          embedQuery: async () => [1],
          embedForSearch: async (texts: readonly string[]) => texts.map(() => [1]),
        },
      }),
      messages: {
        liveMessages,
        async liveMessagesWithThreads(list: readonly number[]) {
          const live = list.filter((id) => !deleted.has(id) && id <= n);
          const threads = new Map(
            live.map((id) => {
              const t = thread(id);
              const members = ids.filter((x) => thread(x) === t && !deleted.has(x));
              const parentId = t === "t3" ? 3 : t === "t20" ? 20 : id;
              return [
                id,
                { parentId: deleted.has(parentId) ? null : parentId, replyCount: t ? members.length - 1 : 0 },
              ];
            }),
          );
          const parents = [...threads.values()].flatMap((t) => (t.parentId === null ? [] : [t.parentId]));
          return { rows: await liveMessages([...live, ...parents]), threads };
        },
      },
      threads,
    },
  };
}

const settings = { rrfK: 60, cursorKey: KEY };
const request = (params: Record<string, unknown>) => parseSearchRequest({ q: "anything", ...params }, KEY);

async function allPages(w: ReturnType<typeof world>, params: Record<string, unknown>, between?: () => void) {
  const pages: { id: number; others: readonly number[] }[][] = [];
  let cursor: string | undefined;
  do {
    const res = await searchMessages(w.deps, request({ ...params, ...(cursor ? { cursor } : {}) }), settings);
    pages.push(res.hits.map((h) => ({ id: h.message.id, others: h.thread?.otherMatchingIds ?? [] })));
    cursor = res.nextCursor ?? undefined;
    between?.();
  } while (cursor);
  return pages;
}

describe("group=thread", () => {
  it.each(["hybrid", "bm25", "semantic"])(
    "%s: a 12-reply thread takes one result; pages have no duplicates or gaps",
    async (strategy) => {
      const pages = await allPages(world(), { strategy, group: "thread", limit: 4 });
      const flat = pages.flat();
      // 40 messages: 13 in the first thread, 3 in the second: 40 - 12 - 2 = 26 results.
      expect(flat).toHaveLength(26);
      expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
      const shown = flat.flatMap((r) => [r.id, ...r.others]);
      expect(new Set(shown).size).toBe(shown.length);
      expect(shown.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const t3 = flat.find((r) => r.id === 3)!;
      expect(t3.others).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    },
  );

  it("each grouped hit carries its parent and reply count; the parent itself has parent null", async () => {
    const w = world();
    const res = await searchMessages(w.deps, request({ group: "thread", limit: 30 }), settings);
    const t3 = res.hits.find((h) => h.message.id === 3)!;
    expect(t3.thread).toMatchObject({ parent: null, replyCount: 12 });
    const single = res.hits.find((h) => h.message.id === 1)!;
    expect(single.thread).toBeUndefined();
  });

  it("a message deleted between pages moves no group: no duplicate, no gap", async () => {
    const deleted = new Set<number>();
    const w = world(deleted);
    let page = 0;
    const pages = await allPages(w, { group: "thread", limit: 4 }, () => {
      // After the first page, the first thread's parent and a later single message go.
      if (page++ === 0) {
        deleted.add(3);
        deleted.add(30);
      }
    });
    const ids = pages.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(30);
    expect(ids).toHaveLength(25);
  });
});

describe("group=thread over kept facts (cachedThreadFacts)", () => {
  it("reads each hit's facts once; a hit deleted since is read again and its thread shows through its next member", async () => {
    const deleted = new Set<number>();
    const w = world(deleted);
    const asked: number[][] = [];
    const reader = w.deps.threads;
    const kept = cachedThreadFacts(
      {
        ...reader,
        facts: (ids) => {
          asked.push([...ids]);
          return reader.facts(ids);
        },
      },
      { maxEntries: 1000, ttlMs: 60_000 },
    );
    const deps = { ...w.deps, threads: kept };
    const first = await searchMessages(deps, request({ group: "thread", limit: 4 }), settings);
    expect(first.hits.map((h) => h.message.id)).toEqual([1, 2, 3, 16]);
    await searchMessages(deps, request({ group: "thread", limit: 4 }), settings);
    expect(asked, "the second search asks for nothing").toHaveLength(1);

    deleted.add(3);
    const after = await searchMessages(deps, request({ group: "thread", limit: 4 }), settings);
    expect(after.hits.map((h) => h.message.id)).toEqual([1, 2, 4, 16]);
    expect(after.hits[2]!.thread?.otherMatchingIds).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(asked.slice(1), "only the deleted hit is read again").toEqual([[3]]);
  });
});

describe("sort=recent and context", () => {
  it("recent: newest first among the matches, paged without duplicates", async () => {
    const w = world();
    const pages = await allPages(w, { strategy: "bm25", group: "none", sort: "recent", limit: 7 });
    const ids = pages.flat().map((r) => r.id);
    const times = ids.map((id) => (id * 7) % 40);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(40);
  });

  it("context=N adds the neighbours the reader names, as rows", async () => {
    const w = world();
    const res = await searchMessages(
      w.deps,
      request({ strategy: "bm25", group: "none", context: 2, limit: 3 }),
      settings,
    );
    expect(
      res.hits.map((h) => [h.context?.before.map((m) => m.id), h.context?.after.map((m) => m.id)]),
    ).toEqual([
      [[], [3]],
      [[], [4]],
      [[1], [5]],
    ]);
  });
});
