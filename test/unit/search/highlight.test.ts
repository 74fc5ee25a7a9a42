import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  FRAGMENT_SIZE,
  fragmentWindows,
  MAX_EMBEDDED_WINDOWS,
  markWords,
  pageHighlights,
  queryWordKeys,
} from "../../../functions/core/search/highlight";
import { parseQuery } from "../../../functions/core/search/query-parser";

const keys = (q: string) => queryWordKeys(parseQuery(q));

describe("snippets", () => {
  it("escapes the content before marking: no raw HTML ever comes through", () => {
    const out = markWords(`<script>alert("login")</script> & 'login'`, keys("login"));
    expect(out).toBe(
      "&lt;script&gt;alert(&quot;<mark>login</mark>&quot;)&lt;/script&gt; &amp; &#x27;<mark>login</mark>&#x27;",
    );
    expect(out).not.toMatch(/<(?!\/?mark>)/);
    expect(escapeHtml(`<a href="x">`)).toBe("&lt;a href=&quot;x&quot;&gt;");
  });

  it("marks words of terms and phrases, endings aside; excluded words are not marked", () => {
    expect(markWords("Tokens rotated, token rotation failing", keys('"token rotation" fail -rotated'))).toBe(
      "<mark>Tokens</mark> rotated, <mark>token</mark> <mark>rotation</mark> <mark>failing</mark>",
    );
  });

  it("a long message is cut into sentence windows of at most FRAGMENT_SIZE characters", () => {
    const long = `${"Filler sentence about nothing in particular. ".repeat(8)}The OAuth refresh token rotates. ${"More filler words here. ".repeat(8)}`;
    const windows = fragmentWindows(long);
    expect(windows.length).toBeGreaterThan(2);
    for (const w of windows) expect(w.length).toBeLessThanOrEqual(FRAGMENT_SIZE);
    expect(fragmentWindows("short")).toEqual(["short"]);
    // One endless sentence is cut at words.
    expect(fragmentWindows("word ".repeat(200)).every((w) => w.length <= FRAGMENT_SIZE)).toBe(true);
  });
});

describe("pageHighlights", () => {
  const long = `${"Filler sentence about nothing in particular. ".repeat(8)}The OAuth refresh token rotates on every use. ${"More filler words here. ".repeat(8)}`;

  it("BM25 hits take the index's highlight; the others the window sharing most query words", async () => {
    const out = await pageHighlights(
      [
        { id: 1, content: "OAuth rollout", bm25: true },
        { id: 2, content: long, bm25: false },
        { id: 3, content: "matched through its context only", bm25: true },
      ],
      parseQuery("oauth token"),
      {
        keyword: async (ids) =>
          new Map(ids.filter((id) => id === 1).map((id) => [id, ["<mark>OAuth</mark> rollout"]])),
      },
    );
    expect(out.get(1)).toEqual(["<mark>OAuth</mark> rollout"]);
    expect(out.get(2)![0]).toContain("The <mark>OAuth</mark> refresh <mark>token</mark> rotates");
    expect(out.get(2)![0]!.length).toBeLessThan(long.length);
    expect(out.get(3)).toEqual(["matched through its context only"]);
  });

  it("a long message sharing no query word: the window closest to the query by embedding", async () => {
    const content = `${"Filler sentence about nothing in particular. ".repeat(6)}Users cannot sign in on mobile. ${"More filler words here. ".repeat(8)}`;
    let embedded = 0;
    const out = await pageHighlights([{ id: 7, content, bm25: false }], parseQuery("login problems"), {
      queryVector: [1, 0],
      embed: async (texts) => {
        embedded += texts.length;
        return texts.map((t) => (t.includes("sign in") ? [1, 0] : [0, 1]));
      },
    });
    expect(out.get(7)![0]).toContain("Users cannot sign in on mobile.");
    expect(embedded).toBeGreaterThan(1);
    expect(embedded).toBeLessThanOrEqual(MAX_EMBEDDED_WINDOWS);
  });

  it("a failing highlighter or embedding falls back to the lexical snippet and is reported", async () => {
    const errors: string[] = [];
    const out = await pageHighlights(
      [
        { id: 1, content: "OAuth <b>rollout</b>", bm25: true },
        { id: 2, content: `${"Nothing here at all. ".repeat(20)}`, bm25: false },
      ],
      parseQuery("oauth"),
      {
        keyword: async () => {
          throw new Error("down");
        },
        queryVector: [1],
        embed: async () => {
          throw new Error("down");
        },
        onError: (what) => errors.push(what),
      },
    );
    expect(out.get(1)).toEqual(["<mark>OAuth</mark> &lt;b&gt;rollout&lt;/b&gt;"]);
    expect(out.get(2)![0]!.startsWith("Nothing here at all.")).toBe(true);
    expect(errors.sort()).toEqual(["embedding", "keyword"]);
  });
});
