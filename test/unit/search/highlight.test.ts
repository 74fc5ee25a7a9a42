import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  FRAGMENT_SIZE,
  fragmentWindows,
  MAX_EMBEDDED_WINDOWS,
  markWords,
  pageHighlights,
  queryMarks,
} from "../../../functions/core/search/highlight";
import { parseQuery } from "../../../functions/core/search/query-parser";

const keys = (q: string) => queryMarks(parseQuery(q));

describe("snippets", () => {
  it("escapes the content before marking: no raw HTML ever comes through", () => {
    const out = markWords(`<script>alert("login")</script> & 'login'`, keys("login"));
    expect(out).toBe(
      "&lt;script&gt;alert(&quot;<mark>login</mark>&quot;)&lt;/script&gt; &amp; &#x27;<mark>login</mark>&#x27;",
    );
    expect(out).not.toMatch(/<(?!\/?mark>)/);
    expect(escapeHtml(`<a href="x">`)).toBe("&lt;a href=&quot;x&quot;&gt;");
  });

  it("marks the words of terms by their stem; excluded words and stop words are not marked", () => {
    expect(markWords("Tokens rotated; the failing token", keys("token fail the -rotated"))).toBe(
      "<mark>Tokens</mark> rotated; the <mark>failing</mark> <mark>token</mark>",
    );
  });

  it("marks a phrase only where it occurs (stems compared, a stop word's slot kept)", () => {
    expect(
      markWords("The code flow broke; authorization code flow fixed", keys('"authorization code flow"')),
    ).toBe("The code flow broke; <mark>authorization</mark> <mark>code</mark> <mark>flow</mark> fixed");
    expect(markWords("closing the tickets, closing tickets", keys('"closing the ticket"'))).toBe(
      "<mark>closing</mark> the <mark>tickets</mark>, closing tickets",
    );
    // A word mixing letters and digits matches by its parts too, as the index splits it.
    expect(markWords("OAuth2 rollout", keys("oauth"))).toBe("<mark>OAuth2</mark> rollout");
    // A phrase of one word is a word.
    expect(markWords("Refunds pending", keys('"refund"'))).toBe("<mark>Refunds</mark> pending");
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

  it("every hit shows the window marking most query words; a hit marking none its own text", async () => {
    const out = await pageHighlights(
      [
        { id: 1, content: "OAuth rollout" },
        { id: 2, content: long },
        { id: 3, content: "matched through its context only" },
      ],
      parseQuery("oauth token"),
      {},
    );
    expect(out.get(1)).toEqual(["<mark>OAuth</mark> rollout"]);
    expect(out.get(2)![0]).toContain("The <mark>OAuth</mark> refresh <mark>token</mark> rotates");
    expect(out.get(2)![0]!.length).toBeLessThan(long.length);
    expect(out.get(3)).toEqual(["matched through its context only"]);
  });

  it("a long message sharing no query word: the window closest to the query by embedding", async () => {
    const content = `${"Filler sentence about nothing in particular. ".repeat(6)}Users cannot sign in on mobile. ${"More filler words here. ".repeat(8)}`;
    let embedded = 0;
    const out = await pageHighlights([{ id: 7, content }], parseQuery("login problems"), {
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

  it("a failing embedding falls back to the first window and is reported", async () => {
    const errors: string[] = [];
    const out = await pageHighlights(
      [
        { id: 1, content: "OAuth <b>rollout</b>" },
        { id: 2, content: `${"Nothing here at all. ".repeat(20)}` },
      ],
      parseQuery("oauth"),
      {
        queryVector: [1],
        embed: async () => {
          throw new Error("down");
        },
        onError: (what) => errors.push(what),
      },
    );
    expect(out.get(1)).toEqual(["<mark>OAuth</mark> &lt;b&gt;rollout&lt;/b&gt;"]);
    expect(out.get(2)![0]!.startsWith("Nothing here at all.")).toBe(true);
    expect(errors).toEqual(["embedding"]);
  });
});
