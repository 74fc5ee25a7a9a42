import { describe, expect, it } from "vitest";
import type { LegHit } from "../../../functions/core/model";
import type { EnrichedMessage, MessageReader } from "../../../functions/core/ports";
import { searchMessages } from "../../../functions/core/search/search-messages";
import { parseSearchRequest } from "../../../functions/core/search/search-request";

const KEY = "test-cursor-secret-0123456789abcdef";

/** Legs that rank ids 1..n in order (the keyword leg) or n..1 (the vector leg); `stale` rows are gone. */
function world(n: number, stale: ReadonlySet<number>) {
  const reads: number[][] = [];
  const messages: MessageReader = {
    async liveMessages(ids) {
      reads.push([...ids]);
      const out = new Map<number, EnrichedMessage>();
      for (const id of ids) {
        if (stale.has(id) || id > n) continue;
        out.set(id, {
          id,
          externalId: `m${id}`,
          content: `message ${id}`,
          author: "a@company.com",
          channel: "#general",
          timestamp: new Date(0),
          threadId: null,
          source: { type: "app", name: "acme" },
          metadata: {},
        });
      }
      return out;
    },
    // Read only by a thread-grouped search, which needs a thread reader these deps do not have.
    async liveMessagesWithThreads() {
      throw new Error("no thread reader: a grouped read is not expected");
    },
  };
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const hits = (order: number[], window: number): LegHit[] =>
    order.slice(0, window).map((id, i) => ({ messageId: id, score: 1 - i / 1000 }));
  const staleSeen: number[] = [];
  const semanticResolved = { count: 0 };
  const deps = {
    keyword: { search: async (_q: unknown, _f: unknown, size: number) => hits(ids, size) },
    semantic: async () => {
      semanticResolved.count++;
      return {
        vector: {
          query: async (_e: number[], _f: unknown, limit: number) => hits([...ids].reverse(), limit),
        },
        embedder: {
          modelId: "m",
          dimension: 1,
          embed: async (texts: readonly string[]) => texts.map(() => [1]),
          embedQuery: async () => [1],
          embedForSearch: async (texts: readonly string[]) => texts.map(() => [1]),
        },
      };
    },
    messages,
    onStaleHits: (_leg: "enrichment", got: number[]) => staleSeen.push(...got),
  };
  return { deps, reads, staleSeen, semanticResolved };
}

const request = (params: Record<string, unknown>) => parseSearchRequest({ q: "anything", ...params }, KEY);

describe("searchMessages enrichment", () => {
  it("reads only the rows a page needs (page + 1), not the whole fused list", async () => {
    const w = world(200, new Set());
    const res = await searchMessages(w.deps, request({ strategy: "bm25", limit: 10 }), {
      rrfK: 60,
      cursorKey: KEY,
    });
    expect(res.hits.map((h) => h.message.id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(res.nextCursor).not.toBeNull();
    expect(w.reads).toEqual([Array.from({ length: 11 }, (_, i) => i + 1)]);
  });

  it("reads further when stale hits drop out, keeps the page full and reports the stale ones", async () => {
    const stale = new Set([2, 3, 5, 11, 12]);
    const w = world(200, stale);
    const res = await searchMessages(w.deps, request({ strategy: "bm25", limit: 10 }), {
      rrfK: 60,
      cursorKey: KEY,
    });
    expect(res.hits.map((h) => h.message.id)).toEqual([1, 4, 6, 7, 8, 9, 10, 13, 14, 15]);
    expect(res.staleHits).toBe(5);
    expect(w.staleSeen.sort((a, b) => a - b)).toEqual([2, 3, 5, 11, 12]);
    // 11 rows (4 stale), then the 4 missing (12 stale), then the 1 still missing.
    expect(w.reads.map((r) => r.length)).toEqual([11, 4, 1]);
  });

  it("pages through the live hits without duplicates or gaps, with stale hits anywhere", async () => {
    const stale = new Set([1, 7, 20, 21, 22, 40, 41, 59]);
    for (const strategy of ["bm25", "semantic", "hybrid"] as const) {
      const w = world(60, stale);
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await searchMessages(
          w.deps,
          request({ strategy, limit: 7, ...(cursor ? { cursor } : {}) }),
          { rrfK: 60, cursorKey: KEY },
        );
        seen.push(...res.hits.map((h) => h.message.id));
        if (!res.nextCursor) break;
        cursor = res.nextCursor;
      }
      expect(new Set(seen).size, strategy).toBe(seen.length);
      expect(
        [...seen].sort((a, b) => a - b),
        strategy,
      ).toEqual(Array.from({ length: 60 }, (_, i) => i + 1).filter((id) => !stale.has(id)));
    }
  });

  it("ends without a next cursor when the ranked list runs out", async () => {
    const w = world(5, new Set([3]));
    const res = await searchMessages(w.deps, request({ strategy: "semantic", limit: 10 }), {
      rrfK: 60,
      cursorKey: KEY,
    });
    expect(res.hits.map((h) => h.message.id)).toEqual([5, 4, 2, 1]);
    expect(res.nextCursor).toBeNull();
  });
});

describe("searchMessages semantic leg resolution", () => {
  it("resolves the semantic leg only for strategies that run it", async () => {
    const w = world(30, new Set());
    await searchMessages(w.deps, request({ strategy: "bm25" }), { rrfK: 60, cursorKey: KEY });
    expect(w.semanticResolved.count).toBe(0);
    await searchMessages(w.deps, request({ strategy: "hybrid" }), { rrfK: 60, cursorKey: KEY });
    await searchMessages(w.deps, request({ strategy: "semantic" }), { rrfK: 60, cursorKey: KEY });
    expect(w.semanticResolved.count).toBe(2);
  });

  it("a leg that cannot be resolved degrades a hybrid search and fails a semantic one", async () => {
    const w = world(30, new Set());
    const failures: string[] = [];
    const deps = {
      ...w.deps,
      semantic: () => Promise.reject(new Error("no embedder for the active collection's model")),
      onLegFailure: (leg: string) => failures.push(leg),
    };
    const hybrid = await searchMessages(deps, request({ strategy: "hybrid", limit: 5 }), {
      rrfK: 60,
      cursorKey: KEY,
    });
    expect(hybrid.degraded).toEqual(["semantic"]);
    expect(hybrid.hits.map((h) => h.message.id)).toEqual([1, 2, 3, 4, 5]);
    expect(hybrid.hits.every((h) => h.ranks.semantic === null)).toBe(true);
    const error = await searchMessages(deps, request({ strategy: "semantic" }), {
      rrfK: 60,
      cursorKey: KEY,
    }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 503 });
    expect(failures).toEqual(["semantic", "semantic"]);
  });
});
