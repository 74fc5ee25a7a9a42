import { describe, expect, it } from "vitest";
import {
  DatasetError,
  docContent,
  hasQuerySyntax,
  parseCorpus,
  parseQrels,
  parseQueries,
  plainQueryText,
  searchParams,
  toIngestItem,
} from "../../functions/core/eval/beir";
import { parseQuery, positiveClauses } from "../../functions/core/search/query-parser";

describe("BEIR collection parsing", () => {
  it("reads corpus lines with optional message metadata; numeric ids become strings", () => {
    const docs = parseCorpus(
      [
        '{"_id": 1, "title": "wing flow", "text": "wing flow . tests of a wing"}',
        "",
        '{"_id": "m2", "title": "", "text": "deploy failed", "metadata": {"channel": "#ops", "author": "bo", "timestamp": "2025-01-02T03:04:05Z"}}',
      ].join("\n"),
    );
    expect(docs).toEqual([
      { id: "1", title: "wing flow", text: "wing flow . tests of a wing" },
      {
        id: "m2",
        title: "",
        text: "deploy failed",
        channel: "#ops",
        author: "bo",
        timestamp: "2025-01-02T03:04:05Z",
      },
    ]);
  });

  it("names the file and line of a bad line, and refuses duplicate ids", () => {
    expect(() => parseCorpus('{"_id": "1", "text": "a"}\n{oops')).toThrow(/corpus.jsonl:2: not JSON/);
    expect(() => parseQueries('{"text": "no id"}')).toThrow(DatasetError);
    expect(() => parseQueries('{"_id": "1", "text": "a"}\n{"_id": "1", "text": "b"}')).toThrow(/duplicate/);
  });

  it("reads qrels after the header, graded, grouped by query", () => {
    const q = parseQrels("query-id\tcorpus-id\tscore\n1\t184\t3\n1\t29\t2\n2\t7\t0\n");
    expect([...q.keys()]).toEqual(["1", "2"]);
    expect(Object.fromEntries(q.get("1")!)).toEqual({ "184": 3, "29": 2 });
    expect(q.get("2")!.get("7")).toBe(0);
    expect(() => parseQrels("h\th\th\n1\t2\n")).toThrow(/qrels\/test.tsv:2/);
  });

  it("queries may carry filters for the search API", () => {
    const [q] = parseQueries(
      '{"_id": "q1", "text": "deploy", "filters": {"channel": ["#ops", "#dev"], "from": "2025-01-01"}}',
    );
    const p = searchParams(q!, "hybrid", 100);
    expect(p.getAll("channel")).toEqual(["#ops", "#dev"]);
    expect(p.get("from")).toBe("2025-01-01");
    expect(p.get("limit")).toBe("100");
    expect(p.get("strategy")).toBe("hybrid");
  });
});

describe("documents as messages", () => {
  it("title + newline + text, but a title the text already starts with is not repeated", () => {
    expect(docContent({ id: "1", title: "Wing", text: "tests of a wing" })).toBe("Wing\ntests of a wing");
    expect(docContent({ id: "1", title: "wing flow .", text: "wing flow . tests" })).toBe(
      "wing flow . tests",
    );
    expect(
      docContent({ id: "1", title: "wing flow .", text: "wing flow . tests" }, { alwaysTitle: true }),
    ).toBe("wing flow .\nwing flow . tests");
    expect(docContent({ id: "1", title: "only title", text: "" })).toBe("only title");
  });

  it("external_id is the corpus id; defaults fill channel, author and timestamp; empty docs are skipped", () => {
    expect(toIngestItem({ id: "42", title: "", text: "hello" })).toEqual({
      external_id: "42",
      channel: "corpus",
      author: "beir",
      content: "hello",
      timestamp: "2000-01-01T00:00:00.000Z",
    });
    expect(toIngestItem({ id: "7", title: " ", text: "  " })).toBeNull();
    expect(
      toIngestItem({ id: "8", title: "", text: "x", channel: "#a", timestamp: "2025-03-01T10:00:00+02:00" }),
    ).toMatchObject({
      channel: "#a",
      timestamp: "2025-03-01T08:00:00.000Z",
    });
  });
});

describe("plain query text (natural language is not query syntax)", () => {
  it("Cranfield's -dash is a word, not an exclusion; parentheses and quotes are spaces", () => {
    const raw = "what methods -dash exact or approximate -dash are available";
    expect(hasQuerySyntax(raw)).toBe(true);
    expect(plainQueryText(raw)).toBe("what methods dash exact or approximate dash are available");
    expect(plainQueryText('the (merged-layer) "regime"')).toBe("the merged-layer regime");
    // Raw, the parser would exclude "dash"; plain, every word is a positive clause.
    expect(positiveClauses(parseQuery(plainQueryText(raw))).map((c) => c.text)).toContain("dash");
    expect(positiveClauses(parseQuery(raw)).map((c) => c.text)).not.toContain("dash");
  });

  it("uppercase operators become words; hyphens inside words stay", () => {
    expect(plainQueryText("flutter AND NOT buckling OR x")).toBe("flutter and not buckling or x");
    expect(plainQueryText("non-linear load-deflection")).toBe("non-linear load-deflection");
    expect(hasQuerySyntax("non-linear load-deflection response")).toBe(false);
    expect(hasQuerySyntax("ANDROID ORBIT")).toBe(false);
  });

  it("raw mode passes the text unchanged", () => {
    expect(searchParams({ id: "1", text: "a -b" }, "bm25", 10, "raw").get("q")).toBe("a -b");
    expect(searchParams({ id: "1", text: "a -b" }, "bm25", 10).get("q")).toBe("a b");
  });
});
