import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../functions/core/errors";
import type { LegHit } from "../../../functions/core/model";
import {
  CURSOR_VERSION,
  type CursorScope,
  decodeCursor,
  encodeCursor,
  legWindow,
  MAX_CURSOR_WINDOW,
  MAX_PAGING_DEPTH,
  paginate,
  planPage,
  requestFingerprint,
} from "../../../functions/core/search/cursor";
import { reciprocalRankFusion } from "../../../functions/core/search/fusion";

const KEY = "test-cursor-secret-0123456789abcdef";

const scope: CursorScope = {
  q: "oauth security",
  strategy: "hybrid",
  filters: { channels: ["#a", "#b"], from: new Date("2025-12-01T00:00:00Z") },
  limit: 20,
};

/** A cursor with any payload, signed the way encodeCursor signs (the secret known). */
function signed(payload: unknown, key = KEY): string {
  const json = typeof payload === "string" ? payload : JSON.stringify(payload);
  const mac = createHmac("sha256", key).update(json).digest().subarray(0, 16).toString("base64url");
  return `${Buffer.from(json).toString("base64url")}.${mac}`;
}

function expectCursorError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details[0]?.path).toBe("cursor");
    return;
  }
  throw new Error("expected a cursor ValidationError");
}

describe("cursor encoding", () => {
  it("round-trips and is opaque base64url with a signature", () => {
    const token = encodeCursor({ offset: 40, window: 60 }, scope, KEY);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(decodeCursor(token, scope, KEY)).toEqual({ offset: 40, window: 60 });
    const payload = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"));
    expect(payload.v).toBe(CURSOR_VERSION);
  });

  it("is bound to q, strategy, filters and limit, not to list order or duplicates", () => {
    const token = encodeCursor({ offset: 20, window: 60 }, scope, KEY);
    expect(decodeCursor(token, { ...scope, q: "  oauth security " }, KEY)).toEqual({
      offset: 20,
      window: 60,
    });
    expect(
      decodeCursor(token, { ...scope, filters: { ...scope.filters, channels: ["#b", "#a", "#a"] } }, KEY),
    ).toEqual({ offset: 20, window: 60 });
    expectCursorError(() => decodeCursor(token, { ...scope, q: "oauth" }, KEY));
    expectCursorError(() => decodeCursor(token, { ...scope, strategy: "bm25" }, KEY));
    expectCursorError(() => decodeCursor(token, { ...scope, limit: 10 }, KEY));
    expectCursorError(() => decodeCursor(token, { ...scope, filters: { channels: ["#a", "#b"] } }, KEY));
    expectCursorError(() =>
      decodeCursor(token, { ...scope, filters: { ...scope.filters, authors: ["x"] } }, KEY),
    );
    expect(requestFingerprint(scope)).toHaveLength(16);
  });

  it("rejects a cursor that was forged, altered or signed with another key", () => {
    const h = requestFingerprint(scope);
    const forge = (obj: unknown) => Buffer.from(JSON.stringify(obj)).toString("base64url");
    const token = encodeCursor({ offset: 20, window: 60 }, scope, KEY);
    // Unsigned (the version-2 format) and self-signed with a guessed key.
    expectCursorError(() => decodeCursor(forge({ v: CURSOR_VERSION, o: 0, w: 100000, h }), scope, KEY));
    expectCursorError(() => decodeCursor(signed({ v: CURSOR_VERSION, o: 0, w: 50, h }, "guess"), scope, KEY));
    expectCursorError(() => decodeCursor(token, scope, "another-deployment-secret-0123456789"));
    // Payload swapped under a valid signature.
    const [, sig] = token.split(".");
    expectCursorError(() =>
      decodeCursor(`${forge({ v: CURSOR_VERSION, o: 0, w: 60, h })}.${sig}`, scope, KEY),
    );
  });

  it("rejects garbage, another version and out-of-range numbers even when signed", () => {
    const h = requestFingerprint(scope);
    for (const bad of [
      "",
      "!!!",
      "a".repeat(600),
      `${"a".repeat(600)}.${"b".repeat(22)}`,
      signed("not json"),
      signed(null),
      signed([1, 2]),
      signed({ v: 2, o: 0, w: 50, h }),
      signed({ v: CURSOR_VERSION, o: -1, w: 50, h }),
      signed({ v: CURSOR_VERSION, o: 1.5, w: 50, h }),
      signed({ v: CURSOR_VERSION, o: 0, w: 0, h }),
      signed({ v: CURSOR_VERSION, o: "0", w: 50, h }),
      signed({ v: CURSOR_VERSION, o: MAX_PAGING_DEPTH + 1, w: 50, h }),
      // The window a forged cursor set in issue 22: a 503 on bm25, 10^7 neighbours on semantic.
      signed({ v: CURSOR_VERSION, o: 0, w: 100000, h }),
      signed({ v: CURSOR_VERSION, o: 0, w: MAX_CURSOR_WINDOW + 1, h }),
      signed({ v: CURSOR_VERSION, o: 0, w: 50 }),
    ]) {
      expectCursorError(() => decodeCursor(bad, scope, KEY));
    }
    expect(decodeCursor(signed({ v: CURSOR_VERSION, o: 0, w: MAX_CURSOR_WINDOW, h }), scope, KEY)).toEqual({
      offset: 0,
      window: MAX_CURSOR_WINDOW,
    });
  });
});

describe("legWindow and planPage", () => {
  it("defaults to max(3 x limit, 50), deep enough for the page plus one", () => {
    expect(legWindow(10, 0)).toBe(50);
    expect(legWindow(20, 0)).toBe(60);
    expect(legWindow(100, 0)).toBe(300);
    expect(legWindow(20, 60)).toBe(81);
    expect(legWindow(20, 0, 200)).toBe(200);
    expect(legWindow(20, 300, 200)).toBe(321);
  });

  it("pins the hybrid window from the first page", () => {
    expect(planPage({ strategy: "hybrid", limit: 20 })).toEqual({ offset: 0, window: 60 });
    expect(planPage({ strategy: "hybrid", limit: 20 }, 100)).toEqual({ offset: 0, window: 100 });
    expect(planPage({ strategy: "hybrid", limit: 20, cursor: { offset: 100, window: 60 } })).toEqual({
      offset: 100,
      window: 60,
    });
  });

  it("grows a single leg's window with the offset", () => {
    expect(planPage({ strategy: "bm25", limit: 20 })).toEqual({ offset: 0, window: 60 });
    expect(planPage({ strategy: "bm25", limit: 20, cursor: { offset: 60, window: 60 } })).toEqual({
      offset: 60,
      window: 81,
    });
    expect(planPage({ strategy: "semantic", limit: 20, cursor: { offset: 20, window: 60 } }).window).toBe(60);
  });
});

/** Two legs over 1..n in different orders, cut to the window like real legs would be. */
function legs(window: number): { bm25: LegHit[]; semantic: LegHit[] } {
  const n = 150;
  const bm25 = Array.from({ length: n }, (_, i) => ({ messageId: i + 1, score: n - i }));
  const semantic = Array.from({ length: n }, (_, i) => ({ messageId: ((i * 37) % n) + 1, score: 1 - i / n }));
  return { bm25: bm25.slice(0, window), semantic: semantic.slice(0, window) };
}

describe("paginate", () => {
  it("walks a hybrid result with no duplicates and no gaps", () => {
    const s: CursorScope = { ...scope, limit: 7 };
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let fullList: number[] = [];
    do {
      const decoded = cursor === null ? undefined : decodeCursor(cursor, s, KEY);
      const plan = planPage({ strategy: "hybrid", limit: s.limit, ...(decoded ? { cursor: decoded } : {}) });
      const fused = reciprocalRankFusion(legs(plan.window));
      if (pages === 0) fullList = fused.map((h) => h.messageId);
      const page = paginate(fused, plan, s, KEY);
      expect(page.items.length).toBeLessThanOrEqual(s.limit);
      seen.push(...page.items.map((h) => h.messageId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(fullList);
    expect(pages).toBe(Math.ceil(fullList.length / s.limit));
  });

  it("walks a single leg deeper than the first window", () => {
    const s: CursorScope = { ...scope, strategy: "bm25", limit: 20 };
    const all = Array.from({ length: 130 }, (_, i) => ({ messageId: 1000 + i, score: 500 - i }));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const decoded = cursor === null ? undefined : decodeCursor(cursor, s, KEY);
      const plan = planPage({ strategy: "bm25", limit: s.limit, ...(decoded ? { cursor: decoded } : {}) });
      const fused = reciprocalRankFusion({ bm25: all.slice(0, plan.window) });
      const page = paginate(fused, plan, s, KEY);
      seen.push(...page.items.map((h) => h.messageId));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((h) => h.messageId));
  });

  it("has no next cursor on the last page or at the depth limit", () => {
    const s: CursorScope = { ...scope, limit: 10 };
    expect(paginate([1, 2, 3], { offset: 0, window: 50 }, s, KEY)).toEqual({
      items: [1, 2, 3],
      nextCursor: null,
    });
    expect(
      paginate(
        Array.from({ length: 10 }, (_, i) => i),
        { offset: 0, window: 50 },
        s,
        KEY,
      ).nextCursor,
    ).toBeNull();
    expect(
      paginate(
        Array.from({ length: 11 }, (_, i) => i),
        { offset: 0, window: 50 },
        s,
        KEY,
      ).nextCursor,
    ).not.toBeNull();
    expect(paginate([], { offset: 40, window: 50 }, s, KEY)).toEqual({ items: [], nextCursor: null });
    const deep = Array.from({ length: MAX_PAGING_DEPTH + 50 }, (_, i) => i);
    expect(
      paginate(deep, { offset: MAX_PAGING_DEPTH - 10, window: MAX_PAGING_DEPTH + 1 }, s, KEY).nextCursor,
    ).toBeNull();
  });
});
