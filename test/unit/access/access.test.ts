import { describe, expect, it } from "vitest";
import {
  ConversationScope,
  declaredAccess,
  type ReadAccess,
  resolveReadAccess,
  type VisibilityReader,
} from "../../../functions/core/access/access";
import { type SearchAudit, searchInScope } from "../../../functions/core/access/scoped-search";
import { visibleGaps } from "../../../functions/core/access/visible-gaps";
import { AppError } from "../../../functions/core/errors";
import type { CoordinationGap } from "../../../functions/core/gaps/gap";
import type { LegHit, SearchFilters, SourceRef } from "../../../functions/core/model";
import type { EnrichedMessage } from "../../../functions/core/ports";
import { parseSearchRequest } from "../../../functions/core/search/search-request";

const KEY = "test-cursor-secret-0123456789abcdef";
const ACME: SourceRef = { type: "slack", name: "T1" };
const OTHER: SourceRef = { type: "app", name: "wiki" };

const viewer = (userId: string): ReadAccess => ({ kind: "viewer", viewer: { userId } });

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.status : -1;
  }
  return undefined;
}

describe("resolveReadAccess: who the viewer is", () => {
  const base = { claimName: "sub", allowUnscoped: false };

  it("takes the viewer from the verified JWT claim", () => {
    expect(resolveReadAccess({ ...base, claims: { sub: "U1" } })).toEqual(viewer("U1"));
    expect(
      resolveReadAccess({ ...base, claimName: "slack_user", claims: { slack_user: "U9", sub: "x" } }),
    ).toEqual(viewer("U9"));
  });

  it("refuses a token without the claim, and a viewer parameter naming someone else (403)", () => {
    expect(statusOf(() => resolveReadAccess({ ...base, claims: { email: "a@b" } }))).toBe(403);
    expect(statusOf(() => resolveReadAccess({ ...base, claims: { sub: "U1" }, param: "U2" }))).toBe(403);
    expect(resolveReadAccess({ ...base, claims: { sub: "U1" }, param: "U1" })).toEqual(viewer("U1"));
  });

  it("trusts the viewer parameter without a JWT (IAM-signed callers)", () => {
    expect(resolveReadAccess({ ...base, param: "alice@company.com" })).toEqual(viewer("alice@company.com"));
  });

  it("is a 401 without any viewer unless unscoped reads are allowed", () => {
    expect(statusOf(() => resolveReadAccess(base))).toBe(401);
    expect(resolveReadAccess({ ...base, allowUnscoped: true })).toEqual({ kind: "unscoped" });
    // A JWT never falls back to unscoped.
    expect(statusOf(() => resolveReadAccess({ ...base, allowUnscoped: true, claims: {} }))).toBe(403);
  });
});

describe("cursors are bound to their viewer", () => {
  const asViewer = (userId: string) => () => viewer(userId);

  it("a cursor replayed by another viewer (or unscoped) is a 403; by its own viewer it pages on", async () => {
    const world = fakeWorld(30, [{ source: ACME, conversation: "C1" }]);
    const first = await searchInScope(
      world.deps,
      parseSearchRequest({ q: "x", limit: 5, strategy: "bm25" }, KEY, asViewer("U1")),
      { rrfK: 60, cursorKey: KEY },
    );
    expect(first.nextCursor).not.toBeNull();
    const cursor = first.nextCursor!;
    expect(() =>
      parseSearchRequest({ q: "x", limit: 5, strategy: "bm25", cursor }, KEY, asViewer("U1")),
    ).not.toThrow();
    expect(
      statusOf(() => parseSearchRequest({ q: "x", limit: 5, strategy: "bm25", cursor }, KEY, asViewer("U2"))),
    ).toBe(403);
    expect(
      statusOf(() =>
        parseSearchRequest({ q: "x", limit: 5, strategy: "bm25", cursor }, KEY, () => ({ kind: "unscoped" })),
      ),
    ).toBe(403);
  });
});

/** Messages 1..n; message i is in conversation C(i % 3) of ACME, and message 3 in OTHER's C0. */
function fakeWorld(n: number, visible: { source: SourceRef; conversation: string }[]) {
  const channelOf = (id: number) => `C${id % 3}`;
  const sourceOf = (id: number) => (id === 3 ? OTHER : ACME);
  const legFilters: SearchFilters[] = [];
  const legHits = (filters: SearchFilters, size: number): LegHit[] => {
    legFilters.push(filters);
    return Array.from({ length: n }, (_, i) => i + 1)
      .filter((id) => !filters.channels || filters.channels.includes(channelOf(id)))
      .slice(0, size)
      .map((id, i) => ({ messageId: id, score: 1 - i / 1000 }));
  };
  const visibility: VisibilityReader = { visibleConversations: async () => visible };
  const audits: SearchAudit[] = [];
  const deps = {
    names: { matchNames: async () => [], directMessageChannels: async () => [] },
    visibility,
    onAudit: (a: SearchAudit) => audits.push(a),
    keyword: { search: async (_q: unknown, f: SearchFilters, size: number) => legHits(f, size) },
    semantic: async () => ({
      vector: { query: async (_e: number[], f: SearchFilters, limit: number) => legHits(f, limit) },
      embedder: {
        modelId: "m",
        dimension: 1,
        embed: async (texts: readonly string[]) => texts.map(() => [1]),
        embedQuery: async () => [1],
        embedForSearch: async (texts: readonly string[]) => texts.map(() => [1]),
      },
    }),
    messages: {
      async liveMessages(ids: readonly number[]) {
        const out = new Map<number, EnrichedMessage>();
        for (const id of ids)
          out.set(id, {
            id,
            externalId: `m${id}`,
            content: `message ${id}`,
            author: "U0",
            channel: channelOf(id),
            timestamp: new Date(0),
            threadId: null,
            source: sourceOf(id),
            metadata: {},
          });
        return out;
      },
      // Read only by a thread-grouped search, which needs a thread reader these deps do not have.
      async liveMessagesWithThreads(): Promise<never> {
        throw new Error("no thread reader: a grouped read is not expected");
      },
    },
  };
  return { deps, legFilters, audits, channelOf, sourceOf };
}

describe("searchInScope: the legs, enrichment and the audit", () => {
  it("passes the visible conversations into each leg as a channel filter, intersected with the caller's", async () => {
    const w = fakeWorld(20, [
      { source: ACME, conversation: "C0" },
      { source: ACME, conversation: "C1" },
    ]);
    const r = await searchInScope(
      w.deps,
      parseSearchRequest({ q: "x", channel: "C1,C2" }, KEY, () => viewer("U1")),
      { rrfK: 60, cursorKey: KEY },
    );
    expect(w.legFilters.map((f) => f.channels)).toEqual([["C1"], ["C1"]]);
    expect(r.hits.every((h) => h.message.channel === "C1")).toBe(true);
    expect(r.hits.length).toBe(7);
  });

  it("drops at enrichment a row of a visible channel id in another source", async () => {
    const w = fakeWorld(20, [{ source: ACME, conversation: "C0" }]);
    const r = await searchInScope(
      w.deps,
      parseSearchRequest({ q: "x", strategy: "bm25", limit: 100 }, KEY, () => viewer("U1")),
      { rrfK: 60, cursorKey: KEY },
    );
    const ids = r.hits.map((h) => h.message.id);
    expect(ids).not.toContain(3);
    expect(ids).toEqual([6, 9, 12, 15, 18]);
  });

  it("asks no leg when nothing is visible, and audits viewer and scope size without the query", async () => {
    const w = fakeWorld(20, []);
    const r = await searchInScope(
      w.deps,
      parseSearchRequest({ q: "secret words" }, KEY, () => viewer("U1")),
      { rrfK: 60, cursorKey: KEY },
    );
    expect(r.hits).toEqual([]);
    expect(w.legFilters).toEqual([]);
    expect(w.audits).toEqual([{ viewer: "U1", conversations: 0, strategy: "hybrid", results: 0 }]);
    expect(JSON.stringify(w.audits)).not.toContain("secret");
  });

  it("channel names resolve only to conversations in scope: a private channel's name is unknown to outsiders", async () => {
    const w = fakeWorld(20, [{ source: ACME, conversation: "C1" }]);
    const names = {
      matchNames: async (_kind: string, values: readonly string[]) =>
        values.map((value) => ({
          value,
          candidates: [{ id: value === "#open" ? "C1" : "C2", source: "slack:T1", by: "name" as const }],
          literal: false,
        })),
      directMessageChannels: async () => ["C1", "C2"],
    };
    const run = (params: Record<string, unknown>) =>
      searchInScope(
        { ...w.deps, names },
        parseSearchRequest({ q: "x", ...params }, KEY, () => viewer("U1")),
        {
          rrfK: 60,
          cursorKey: KEY,
        },
      );
    const open = await run({ channel: "#open", strategy: "bm25" });
    expect(open.hits.length).toBeGreaterThan(0);
    await expect(run({ channel: "#secret" })).rejects.toMatchObject({
      status: 400,
      details: [{ path: "channel", message: expect.stringMatching(/matches no conversation/) }],
    });
  });

  it("unscoped: no channel filter, every row; a request without an access decision is refused", async () => {
    const w = fakeWorld(6, []);
    const r = await searchInScope(
      w.deps,
      parseSearchRequest({ q: "x", strategy: "bm25" }, KEY, () => ({ kind: "unscoped" })),
      { rrfK: 60, cursorKey: KEY },
    );
    expect(r.hits.length).toBe(6);
    expect(w.legFilters[0]?.channels).toBeUndefined();
    expect(w.audits[0]).toMatchObject({ viewer: null, conversations: null });
    await expect(
      searchInScope(w.deps, parseSearchRequest({ q: "x" }, KEY), { rrfK: 60, cursorKey: KEY }),
    ).rejects.toThrow(/whom it runs for/);
  });
});

describe("declaredAccess and visibleGaps", () => {
  it("an app's declaration sets each conversation's audience (and members); none is a public fallback", () => {
    const at = new Date(0);
    expect(declaredAccess(OTHER, ["a", "a", "b"], undefined, at)).toEqual([
      { kind: "audience", source: OTHER, conversation: "a", audience: "everyone", at, fallback: true },
      { kind: "audience", source: OTHER, conversation: "b", audience: "everyone", at, fallback: true },
    ]);
    expect(declaredAccess(OTHER, ["a"], { principals: ["p1"] }, at)).toEqual([
      { kind: "audience", source: OTHER, conversation: "a", audience: "members", at },
      { kind: "members", source: OTHER, conversation: "a", principals: ["p1"], at },
    ]);
  });

  it("a gap is shown only when every side is in scope", () => {
    const side = (c: string) => ({
      conversations: [c],
      people: [],
      messageCount: 2,
      representatives: [],
    });
    const gap = (key: string, a: string, b: string) =>
      ({ key, sides: [side(a), side(b)] }) as unknown as CoordinationGap;
    const gaps = [gap("g1", "C1", "C2"), gap("g2", "C1", "C3")];
    const scope = new ConversationScope("U1", [
      { source: ACME, conversation: "C1" },
      { source: ACME, conversation: "C2" },
    ]);
    expect(visibleGaps(gaps, scope).map((g) => g.key)).toEqual(["g1"]);
    expect(visibleGaps(gaps, null).map((g) => g.key)).toEqual(["g1", "g2"]);
  });

  it("where a gap carries its sources, a side is checked per (source, conversation): another source's #support stays hidden", () => {
    const side = (source: typeof ACME, c: string) => ({
      conversations: [c],
      conversationRefs: [{ source, conversation: c }],
      people: [],
      messageCount: 2,
      representatives: [
        {
          messageId: 1,
          channel: c,
          author: "p",
          content: "x",
          timestamp: new Date(0),
          permalink: null,
          source,
        },
      ],
    });
    const mine = {
      key: "mine",
      sides: [side(ACME, "#support"), side(ACME, "#ops")],
    } as unknown as CoordinationGap;
    const theirs = {
      key: "theirs",
      sides: [side(OTHER, "#support"), side(ACME, "#ops")],
    } as unknown as CoordinationGap;
    const scope = new ConversationScope("U1", [
      { source: ACME, conversation: "#support" },
      { source: ACME, conversation: "#ops" },
    ]);
    // By id alone both would pass: OTHER's #support shares the id the viewer may read in ACME.
    expect(visibleGaps([mine, theirs], scope).map((g) => g.key)).toEqual(["mine"]);
  });
});
