import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../functions/core/errors";
import { encodeCursor } from "../../../functions/core/search/cursor";
import { NO_MODIFIERS } from "../../../functions/core/search/modifiers";
import {
  DEFAULT_LIMIT,
  parseIsoDate,
  parseSearchRequest,
  parseSourceFilter,
  splitSourceFilters,
} from "../../../functions/core/search/search-request";

const KEY = "test-cursor-secret-0123456789abcdef";

/** Parses and returns the error details, failing the test when parsing succeeds. */
function details(input: unknown): { path: string; message: string }[] {
  try {
    parseSearchRequest(input, KEY);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
    return [...(err as ValidationError).details];
  }
  throw new Error(`expected a ValidationError for ${JSON.stringify(input)}`);
}

const paths = (input: unknown) => details(input).map((d) => d.path);

describe("parseSearchRequest: defaults and normalisation", () => {
  it("applies defaults", () => {
    const r = parseSearchRequest({ q: "oauth" }, KEY);
    expect(r).toEqual({
      q: "oauth",
      query: { kind: "term", text: "oauth" },
      modifiers: NO_MODIFIERS,
      notApplied: [],
      strategy: "hybrid",
      filters: {},
      limit: DEFAULT_LIMIT,
      explain: false,
      group: "thread",
      sort: "relevance",
      context: 0,
    });
    expect(DEFAULT_LIMIT).toBe(20);
    expect(r.cursor).toBeUndefined();
  });

  it("accepts a query-string map (strings, repeated keys as arrays, comma lists)", () => {
    const r = parseSearchRequest(
      {
        q: ["oauth AND security"],
        strategy: "bm25",
        channel: ["#auth-team,#platform", "#ops"],
        author: "a@x.com, b@x.com",
        source: "slack:acme",
        limit: "5",
        explain: "1",
        from: "2025-12-01T10:00:00+02:00",
        to: "2025-12-14T18:58:32",
      },
      KEY,
    );
    expect(r.strategy).toBe("bm25");
    expect(r.query.kind).toBe("and");
    expect(r.filters).toEqual({
      channels: ["#auth-team", "#platform", "#ops"],
      authors: ["a@x.com", "b@x.com"],
      sources: ["slack:acme"],
      from: new Date("2025-12-01T08:00:00Z"),
      to: new Date("2025-12-14T18:58:32Z"),
    });
    expect(r.limit).toBe(5);
    expect(r.explain).toBe(true);
  });

  it("accepts a JSON body with arrays, numbers and booleans", () => {
    const r = parseSearchRequest(
      {
        q: "oauth",
        strategy: "semantic",
        channel: ["#a", "#b", "#a"],
        limit: 100,
        explain: false,
      },
      KEY,
    );
    expect(r.filters.channels).toEqual(["#a", "#b"]);
    expect(r.limit).toBe(100);
    expect(r.explain).toBe(false);
  });

  it("reads a query-string value written as a JSON array, alone or beside other forms", () => {
    const r = parseSearchRequest(
      {
        q: "x",
        channel: ['["#mobile","#auth-team"]', "#ops"],
        author: '["a@x.io"]',
      },
      KEY,
    );
    expect(r.filters.channels).toEqual(["#mobile", "#auth-team", "#ops"]);
    expect(r.filters.authors).toEqual(["a@x.io"]);
  });

  it("takes a value that only starts like a JSON array as text", () => {
    expect(parseSearchRequest({ q: "x", author: "[bot] deploy" }, KEY).filters.authors).toEqual([
      "[bot] deploy",
    ]);
    expect(parseSearchRequest({ q: "x", channel: "[1,2]" }, KEY).filters.channels).toEqual(["[1", "2]"]);
  });

  it("drops empty list values and empty lists", () => {
    expect(parseSearchRequest({ q: "x", channel: ",, ,", author: [] }, KEY).filters).toEqual({});
  });

  it("reads explain from true/false/'true'/'false'/'1'/'0'", () => {
    for (const [input, expected] of [
      [true, true],
      [false, false],
      ["true", true],
      ["false", false],
      ["1", true],
      ["0", false],
    ] as const) {
      expect(parseSearchRequest({ q: "x", explain: input }, KEY).explain).toBe(expected);
    }
    expect(paths({ q: "x", explain: "yes" })).toEqual(["explain"]);
  });

  it("trims q and keeps the raw text next to the parsed query", () => {
    const r = parseSearchRequest({ q: "  bug NOT fixed  " }, KEY);
    expect(r.q).toBe("bug NOT fixed");
    expect(r.query).toEqual({
      kind: "or",
      clauses: [
        { kind: "term", text: "bug" },
        { kind: "not", clause: { kind: "term", text: "fixed" } },
      ],
    });
  });

  it("reads a date-only from as the start and a date-only to as the end of that UTC day", () => {
    const r = parseSearchRequest({ q: "x", from: "2025-12-01", to: "2025-12-31" }, KEY);
    expect(r.filters.from).toEqual(new Date("2025-12-01T00:00:00.000Z"));
    expect(r.filters.to).toEqual(new Date("2025-12-31T23:59:59.999Z"));
    expect(parseSearchRequest({ q: "x", from: "2025-12-01", to: "2025-12-01" }, KEY).filters.to).toEqual(
      new Date("2025-12-01T23:59:59.999Z"),
    );
  });
});

describe("parseSearchRequest: errors name each bad field", () => {
  it("requires q and bounds its length", () => {
    expect(details({})).toEqual([{ path: "q", message: "is required" }]);
    expect(paths({ q: "" })).toEqual(["q"]);
    expect(paths({ q: "   " })).toEqual(["q"]);
    expect(paths({ q: "x".repeat(1001) })).toEqual(["q"]);
    expect(parseSearchRequest({ q: "x".repeat(1000) }, KEY).q).toHaveLength(1000);
    expect(paths({ q: 42 })).toEqual(["q"]);
    expect(paths({ q: ["a", "b"] })).toEqual(["q"]);
  });

  it("rejects a query without a positive term on q", () => {
    expect(details({ q: "-oauth NOT google" })).toEqual([
      { path: "q", message: "query needs at least one term" },
    ]);
    expect(paths({ q: "\u0000\u0000" })).toEqual(["q"]);
  });

  it("bounds limit to 1..100 integers", () => {
    for (const bad of [0, 101, -1, 1.5, "abc", "", "10x", true]) {
      expect(paths({ q: "x", limit: bad })).toEqual(["limit"]);
    }
    expect(parseSearchRequest({ q: "x", limit: 1 }, KEY).limit).toBe(1);
    expect(parseSearchRequest({ q: "x", limit: "100" }, KEY).limit).toBe(100);
  });

  it("rejects an unknown strategy", () => {
    expect(paths({ q: "x", strategy: "vector" })).toEqual(["strategy"]);
    expect(paths({ q: "x", strategy: "HYBRID" })).toEqual(["strategy"]);
  });

  it("rejects invalid dates", () => {
    for (const bad of [
      "yesterday",
      "2025-02-30",
      "2025-13-01",
      "2025-12-01T25:00:00Z",
      "12/01/2025",
      1764547200,
    ]) {
      expect(paths({ q: "x", from: bad })).toEqual(["from"]);
    }
    expect(parseSearchRequest({ q: "x", to: "2025-12-01T10:00" }, KEY).filters.to).toEqual(
      new Date("2025-12-01T10:00:00Z"),
    );
  });

  it("rejects from after to", () => {
    expect(details({ q: "x", from: "2025-12-02", to: "2025-12-01" })).toEqual([
      { path: "from", message: "must not be after to" },
    ]);
  });

  it("rejects non-string filter values", () => {
    expect(paths({ q: "x", channel: 5 })).toEqual(["channel"]);
    expect(paths({ q: "x", author: ["ok", 3] })).toEqual(["author.1"]);
    expect(paths({ q: "x", source: Array.from({ length: 101 }, (_, i) => `s${i}`) })).toEqual(["source"]);
  });

  it("names every bad field at once", () => {
    expect(paths({ limit: "0", strategy: "x", explain: "maybe", from: "never", channel: {} })).toEqual([
      "q",
      "strategy",
      "channel",
      "from",
      "limit",
      "explain",
    ]);
  });

  it("rejects a body that is not an object", () => {
    expect(paths(null)).toEqual(["(body)"]);
    expect(paths(["q"])).toEqual(["(body)"]);
    expect(paths("q=x")).toEqual(["(body)"]);
  });
});

describe("parseSearchRequest: cursor", () => {
  it("decodes a cursor issued for the same request", () => {
    const first = parseSearchRequest({ q: "oauth", channel: "#a,#b", limit: "10" }, KEY);
    const token = encodeCursor({ offset: 10, window: 50 }, first, KEY);
    // Same request, other spelling (list order, JSON body): still the same query.
    const next = parseSearchRequest({ q: "oauth", channel: ["#b", "#a"], limit: 10, cursor: token }, KEY);
    expect(next.cursor).toEqual({ offset: 10, window: 50 });
  });

  it("rejects a cursor from another query or a garbled one on cursor", () => {
    const token = encodeCursor({ offset: 10, window: 50 }, parseSearchRequest({ q: "oauth" }, KEY), KEY);
    expect(paths({ q: "security", cursor: token })).toEqual(["cursor"]);
    expect(paths({ q: "oauth", limit: 5, cursor: token })).toEqual(["cursor"]);
    expect(paths({ q: "oauth", strategy: "bm25", cursor: token })).toEqual(["cursor"]);
    expect(paths({ q: "oauth", cursor: "not a cursor!" })).toEqual(["cursor"]);
    expect(paths({ q: "oauth", cursor: "" })).toEqual(["cursor"]);
  });
});

describe("source filters", () => {
  it("splits type:name at the first colon", () => {
    expect(parseSourceFilter("acme")).toEqual({ name: "acme" });
    expect(parseSourceFilter("slack:acme")).toEqual({ type: "slack", name: "acme" });
    expect(parseSourceFilter("slack:a:b")).toEqual({ type: "slack", name: "a:b" });
    expect(parseSourceFilter(":acme")).toEqual({ name: ":acme" });
    expect(parseSourceFilter("slack:")).toEqual({ name: "slack:" });
    expect(splitSourceFilters(["a", "slack:b", "c"])).toEqual({
      names: ["a", "c"],
      pairs: [{ type: "slack", name: "b" }],
    });
  });
});

describe("parseIsoDate", () => {
  it("accepts dates and date-times with or without zone", () => {
    expect(parseIsoDate("2025-12-14")).toEqual(new Date("2025-12-14T00:00:00Z"));
    expect(parseIsoDate("2025-12-14", true)).toEqual(new Date("2025-12-14T23:59:59.999Z"));
    expect(parseIsoDate("2025-12-14T18:58")).toEqual(new Date("2025-12-14T18:58:00Z"));
    expect(parseIsoDate("2025-12-14T18:58:32.123456Z")).toEqual(new Date("2025-12-14T18:58:32.123Z"));
    expect(parseIsoDate("2025-12-14T18:58:32-05:00")).toEqual(new Date("2025-12-14T23:58:32Z"));
    expect(parseIsoDate("2024-02-29")).toEqual(new Date("2024-02-29T00:00:00Z"));
    expect(parseIsoDate("2025-02-29")).toBeNull();
    expect(parseIsoDate("2025-12-14T18:60:00Z")).toBeNull();
  });
});

describe("parseSearchRequest: fusion settings a caller may choose", () => {
  it("reads weights from query-string text or JSON numbers, and the fusion", () => {
    const r = parseSearchRequest(
      { q: "oauth", bm25_weight: "0.7", semantic_weight: 0.3, fusion: "rrf" },
      KEY,
    );
    expect(r.weights).toEqual({ bm25: 0.7, semantic: 0.3 });
    expect(r.fusion).toBe("rrf");
    expect(parseSearchRequest({ q: "oauth", semantic_weight: "2" }, KEY).weights).toEqual({ semantic: 2 });
    const plain = parseSearchRequest({ q: "oauth" }, KEY);
    expect(plain.weights).toBeUndefined();
    expect(plain.fusion).toBeUndefined();
  });

  it("names the field of a bad weight or fusion", () => {
    for (const [input, path] of [
      [{ bm25_weight: "-1" }, "bm25_weight"],
      [{ semantic_weight: "11" }, "semantic_weight"],
      [{ bm25_weight: "heavy" }, "bm25_weight"],
      [{ fusion: "max" }, "fusion"],
    ] as const) {
      const err = (() => {
        try {
          parseSearchRequest({ q: "oauth", ...input }, KEY);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details?.map((d) => d.path)).toEqual([path]);
    }
  });
});
