import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE, type DemoMessage } from "../../local/demo-messages";
import { ingestAndWait, startTestApp, type TestApp } from "../helpers/local-app";

/**
 * Search as people search chat (issue #17), on the demo set plus a few messages with links, files,
 * reactions, mentions, a DM, HTML in the text and a long message. Modifiers: every one, in every
 * strategy, combined with a plain filter; results are compared with the whole expected set (limit
 * 100 > the set), so a modifier that filters too much or too little fails. Highlights: escaped,
 * marked, the best fragment.
 */

const LONG = `${"The weekly sync notes start with the usual round of updates from every team, nothing urgent. ".repeat(4)}Decision: the OAuth consent screen gets the new scopes list before the audit. ${"Then more notes about lunch plans, the offsite and the parking situation downstairs. ".repeat(4)}`;

const EXTRA: DemoMessage[] = [
  {
    external_id: "mod-link",
    channel: "#platform",
    author: "alice@company.com",
    content: "Runbook for the login outage: https://wiki.example.com/runbooks/login",
    timestamp: "2025-12-03T10:00:00Z",
    metadata: { files: 1 },
  },
  {
    external_id: "mod-mention",
    channel: "#platform",
    author: "bob@company.com",
    content: "<@U0ALICE> can you check the login alerts?",
    timestamp: "2025-12-03T11:00:00Z",
    metadata: { reactions: [{ name: "eyes", count: 2 }] },
  },
  {
    external_id: "mod-dm",
    channel: "D0ALICE",
    author: "alice@company.com",
    content: "Private note: the login fix needs a config flag",
    timestamp: "2025-12-04T09:00:00Z",
  },
  {
    external_id: "mod-listed-mention",
    channel: "#auth-team",
    author: "dana@company.com",
    content: "Login review for the new tenant, alice please take a look",
    timestamp: "2025-12-08T09:00:00Z",
    metadata: { mentions: ["alice@company.com"] },
  },
];
const HTML: DemoMessage[] = [
  {
    external_id: "html-xss",
    channel: "#security",
    author: "mallory@company.com",
    content: 'XSS probe <script>alert("login")</script> in a <b>login</b> message & more',
    timestamp: "2025-12-09T09:00:00Z",
  },
  {
    external_id: "long-notes",
    channel: "#security",
    author: "erin@company.com",
    content: LONG,
    timestamp: "2025-12-09T10:00:00Z",
  },
];
/** A 12-reply thread, every message about the failover (Slack style: the parent carries the thread id too). */
const THREAD: DemoMessage[] = [
  {
    external_id: "T-100",
    channel: "#incidents",
    author: "judy@company.com",
    content: "Database failover drill tonight at 22:00, reply here with findings.",
    timestamp: "2025-12-10T12:00:00Z",
    thread_id: "T-100",
  },
  ...Array.from({ length: 12 }, (_, i) => ({
    external_id: `T-100-r${i + 1}`,
    channel: "#incidents",
    author: i % 2 === 0 ? "oscar@company.com" : "peggy@company.com",
    content: `Failover finding ${i + 1}: replica ${i + 1} promoted in ${20 + i} seconds.`,
    timestamp: new Date(Date.parse("2025-12-10T12:05:00Z") + i * 60_000).toISOString(),
    thread_id: "T-100",
  })),
  {
    external_id: "after-thread",
    channel: "#incidents",
    author: "judy@company.com",
    content: "Failover drill report goes out tomorrow morning.",
    timestamp: "2025-12-10T14:00:00Z",
  },
];
const ALL = [...DEMO_MESSAGES, ...EXTRA, ...HTML, ...THREAD];

interface Brief {
  external_id: string;
  content: string;
}
interface Hit {
  message_id: number;
  external_id: string;
  timestamp: string;
  thread?: { parent: Brief | null; reply_count: number; other_matching_ids: number[] };
  context?: { before: Brief[]; after: Brief[] };
  content: string;
  highlights: string[];
  ranks: { bm25: number | null; semantic: number | null };
}
interface Body {
  results: Hit[];
  degraded?: string[];
  next_cursor: string | null;
  applied?: Record<string, unknown>;
  not_applied?: { modifier: string; reason: string }[];
}

type Plain = { channel?: string; author?: string; from?: string; to?: string };
const ts = (m: DemoMessage) => Date.parse(m.timestamp);
const plainMatch = (m: DemoMessage, p: Plain) =>
  (!p.channel || p.channel.split(",").includes(m.channel)) &&
  (!p.author || m.author === p.author) &&
  (!p.from || ts(m) >= Date.parse(p.from)) &&
  (!p.to || ts(m) <= Date.parse(`${p.to}T23:59:59.999Z`));
const present = (v: unknown) => (typeof v === "number" ? v > 0 : Array.isArray(v) && v.length > 0);

const CASES: { mod: string; plain: Plain; keep: (m: DemoMessage) => boolean; q?: string }[] = [
  {
    mod: "in:#auth-team",
    plain: { from: "2025-12-01", channel: "#auth-team,#mobile" },
    keep: (m) => m.channel === "#auth-team",
  },
  {
    mod: "in:#auth-team in:mobile",
    plain: { to: "2025-12-31" },
    keep: (m) => ["#auth-team", "#mobile"].includes(m.channel),
  },
  { mod: "in:@alice", plain: { to: "2025-12-08" }, keep: (m) => m.channel === "D0ALICE" },
  {
    mod: "-in:#auth-team",
    plain: { channel: "#auth-team,#platform" },
    keep: (m) => m.channel !== "#auth-team",
  },
  { mod: "from:@alice", plain: { to: "2025-12-31" }, keep: (m) => m.author === "alice@company.com" },
  {
    mod: "-from:@alice",
    plain: { channel: "#auth-team,#platform,D0ALICE" },
    keep: (m) => m.author !== "alice@company.com",
  },
  { mod: "to:@alice", plain: { channel: "#auth-team" }, keep: (m) => m.external_id === "mod-listed-mention" },
  { mod: "to:U0ALICE", plain: { to: "2025-12-08" }, keep: (m) => m.external_id === "mod-mention" },
  {
    mod: "before:2025-12-05",
    plain: { channel: "#mobile,#platform" },
    keep: (m) => ts(m) < Date.parse("2025-12-05"),
  },
  { mod: "after:2025-12-05", plain: { channel: "#mobile" }, keep: (m) => ts(m) >= Date.parse("2025-12-06") },
  {
    mod: "on:12/3/2025",
    plain: { channel: "#platform,#auth-team,#mobile" },
    keep: (m) => m.timestamp.startsWith("2025-12-03"),
  },
  {
    mod: "during:2025-12",
    plain: { author: "alice@company.com" },
    keep: (m) => m.timestamp.startsWith("2025-12"),
  },
  { mod: "has:link", plain: { channel: "#platform" }, keep: (m) => m.external_id === "mod-link" },
  { mod: "has:file", plain: { to: "2025-12-08" }, keep: (m) => present(m.metadata?.["files"]) },
  {
    mod: "has:reaction",
    plain: { channel: "#auth-team,#platform" },
    keep: (m) => present(m.metadata?.["reactions"]),
  },
  {
    mod: "is:thread",
    plain: { channel: "#auth-team" },
    keep: (m) => m.thread_id !== undefined,
    q: "staging",
  },
];

describe("Slack modifiers in q (real local stack)", () => {
  let t: TestApp;
  const search = async (params: Record<string, string | number>) => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await t.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Body;
  };
  const ids = (b: Body) => b.results.map((r) => r.external_id).sort();

  beforeAll(async () => {
    t = await startTestApp("search-modifiers");
    const c = createContainer(t.config);
    const at = new Date("2025-12-01T00:00:00Z");
    await c.directory.apply({
      kind: "users",
      source: DEMO_SOURCE,
      users: [
        {
          id: "alice@company.com",
          name: "alice",
          displayName: "Alice",
          realName: "Alice Liddell",
          isBot: false,
          deleted: false,
        },
      ],
      at,
    });
    await c.directory.apply({
      kind: "conversations",
      source: DEMO_SOURCE,
      conversations: [{ id: "D0ALICE", kind: "im" }],
      at,
    });
    await ingestAndWait(t, DEMO_SOURCE, ALL);
  });
  afterAll(async () => t?.close());

  describe.each(["bm25", "semantic", "hybrid"] as const)("%s", (strategy) => {
    it.each(CASES)("$mod with a plain filter", async ({ mod, plain, keep, q = "login" }) => {
      const params = { strategy, limit: 100, group: "none", ...plain };
      const got = await search({ q: `${q} ${mod}`, ...params });
      expect(got.degraded).toBeUndefined();
      // BM25 matches words: the modifier keeps exactly the plain search's hits it allows. The
      // semantic leg (and so hybrid) ranks every message: all messages that pass both filters.
      const expected =
        strategy === "bm25"
          ? (await search({ q, ...params })).results.filter((r) =>
              keep(ALL.find((m) => m.external_id === r.external_id)!),
            )
          : ALL.filter((m) => plainMatch(m, plain) && keep(m));
      expect(expected.length, "the case has something to find").toBeGreaterThan(0);
      expect(ids(got)).toEqual(expected.map((m) => m.external_id).sort());
      expect(got.applied, "applied is echoed").toBeDefined();
      expect(got.not_applied).toBeUndefined();
    });
  });

  it("applied echoes each modifier as typed and the dates as a range", async () => {
    const body = await search({
      q: "login in:#auth-team from:@alice -from:U9 to:@alice after:2025-12-01 before:2025-12-20 has:reaction is:thread",
      strategy: "bm25",
    });
    expect(body.applied).toEqual({
      channel: ["#auth-team"],
      from: ["@alice"],
      exclude_from: ["U9"],
      to: ["@alice"],
      date: { from: "2025-12-02T00:00:00.000Z", to: "2025-12-19T23:59:59.999Z" },
      has: ["reaction"],
      is: ["thread"],
    });
  });

  it.each(["bm25", "semantic", "hybrid"])(
    "%s: an unknown in:#nope is reported, not searched as text; a bad date too",
    async (strategy) => {
      const plain = await search({ q: "login", strategy, limit: 100, group: "none" });
      const body = await search({
        q: "login in:#nope before:2025-02-30",
        strategy,
        limit: 100,
        group: "none",
      });
      expect(body.not_applied).toEqual([
        { modifier: "before:2025-02-30", reason: expect.stringContaining("bad date") },
        { modifier: "in:#nope", reason: "unknown channel" },
      ]);
      expect(body.applied).toEqual({});
      expect(ids(body)).toEqual(ids(plain));
    },
  );

  it("a modifier-only query is a 400 naming q; a quoted modifier is text", async () => {
    const res = await t.api("GET", `/search?${new URLSearchParams({ q: "in:#auth-team" })}`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("besides modifiers");
    const quoted = await search({ q: '"in:#auth-team"', strategy: "bm25" });
    expect(quoted.applied).toBeUndefined();
  });

  describe("highlights", () => {
    /** A highlight without its <mark> tags holds no markup: every < > & from the content is escaped. */
    const noRawHtml = (h: string) =>
      expect(h.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|#x27|#x2F);)/);

    it.each(["bm25", "semantic", "hybrid"])(
      "%s: every hit has an escaped fragment; every BM25 hit's fragment marks a query term",
      async (strategy) => {
        for (const q of ["login", "OAuth token", '"authorization code flow"', "users can't login"]) {
          const body = await search({ q, strategy, limit: 100, group: "none" });
          expect(body.results.length).toBeGreaterThan(0);
          const terms = q.toLowerCase().match(/[a-z]+/g)!;
          for (const r of body.results) {
            expect(r.highlights.length, r.external_id).toBe(1);
            noRawHtml(r.highlights[0]!);
            if (r.ranks.bm25 !== null) {
              const marked = [...r.highlights[0]!.matchAll(/<mark>([^<]*)<\/mark>/g)].map((m) =>
                m[1]!.toLowerCase(),
              );
              expect(marked.length, `${q}: ${r.highlights[0]}`).toBeGreaterThan(0);
              expect(
                marked.some((w) => terms.some((t) => w.startsWith(t.slice(0, 4)))),
                `${q}: ${r.highlights[0]}`,
              ).toBe(true);
            }
          }
        }
      },
    );

    it.each(["bm25", "semantic", "hybrid"])(
      "%s: <script> in a message comes back escaped",
      async (strategy) => {
        const body = await search({ q: "XSS probe login", strategy, limit: 100, group: "none" });
        const hit = body.results.find((r) => r.external_id === "html-xss")!;
        expect(hit, "the message is found").toBeDefined();
        expect(hit.highlights[0]).toContain("&lt;script&gt;");
        expect(hit.highlights[0]).not.toContain("<script>");
        expect(hit.highlights[0]).not.toContain("<b>");
        noRawHtml(hit.highlights[0]!);
        // The content field itself stays the text as stored.
        expect(hit.content).toContain("<script>");
      },
    );

    it.each(["bm25", "hybrid"])(
      "%s: a long message shows its best fragment, not its start",
      async (strategy) => {
        const body = await search({ q: "OAuth consent scopes", strategy, limit: 100, group: "none" });
        const hit = body.results.find((r) => r.external_id === "long-notes")!;
        expect(hit.highlights[0]).toContain("<mark>OAuth</mark> <mark>consent</mark>");
        expect(hit.highlights[0]!.length).toBeLessThan(320);
        expect(hit.highlights[0]).not.toContain("weekly sync notes start");
      },
    );

    it("a semantic-only hit of a long message gets the window closest to the query", async () => {
      const body = await search({
        // No word in common with the message: its windows are embedded, the closest is shown.
        q: "what was agreed for the permission prompt",
        strategy: "semantic",
        limit: 100,
      });
      const hit = body.results.find((r) => r.external_id === "long-notes")!;
      expect(hit.highlights[0]).toMatch(
        /^Decision: the OAuth consent screen gets the new scopes list before the audit\./,
      );
      expect(hit.highlights[0]).not.toContain("<mark>");
      expect(hit.highlights[0]!.length).toBeLessThan(LONG.length / 2);
    });
  });

  describe("threads, context and sort", () => {
    it.each(["hybrid", "bm25", "semantic"])(
      "%s, group=thread: the 12-reply thread takes one result; paging has no duplicates or gaps",
      async (strategy) => {
        const seen: number[] = [];
        const results: Hit[] = [];
        let cursor: string | null = null;
        do {
          const page: Body = await search({
            q: "failover",
            strategy,
            group: "thread",
            limit: 3,
            ...(cursor ? { cursor } : {}),
          });
          results.push(...page.results);
          for (const r of page.results) seen.push(r.message_id, ...(r.thread?.other_matching_ids ?? []));
          cursor = page.next_cursor;
        } while (cursor);
        expect(new Set(seen).size, "no message twice").toBe(seen.length);
        // The same window ungrouped (sort=recent pins it too) holds the same messages: nothing lost.
        const flat: number[] = [];
        cursor = null;
        do {
          const page: Body = await search({
            q: "failover",
            strategy,
            group: "none",
            sort: "recent",
            limit: 3,
            ...(cursor ? { cursor } : {}),
          });
          flat.push(...page.results.map((r) => r.message_id));
          cursor = page.next_cursor;
        } while (cursor);
        expect([...seen].sort((a, b) => a - b)).toEqual(flat.sort((a, b) => a - b));
        const threadIds = new Set(THREAD.filter((m) => m.thread_id).map((m) => m.external_id));
        const inThread = results.filter((r) => threadIds.has(r.external_id));
        expect(inThread, "one result for the thread").toHaveLength(1);
        const t = inThread[0]!;
        expect(t.thread?.reply_count).toBe(12);
        if (t.external_id !== "T-100") expect(t.thread?.parent?.external_id).toBe("T-100");
        if (strategy === "bm25") expect(t.thread?.other_matching_ids).toHaveLength(12);
      },
    );

    it("hybrid groups by default; bm25 and semantic do not", async () => {
      const hybrid = await search({ q: "failover finding replica", limit: 50 });
      expect(hybrid.results.filter((r) => r.external_id.startsWith("T-100"))).toHaveLength(1);
      const bm25 = await search({ q: "failover finding replica", strategy: "bm25", limit: 50 });
      expect(bm25.results.filter((r) => r.external_id.startsWith("T-100")).length).toBeGreaterThan(1);
      expect(bm25.results.every((r) => r.thread === undefined)).toBe(true);
    });

    it("context=2 adds the two messages before and after a hit in its thread or channel", async () => {
      const body = await search({ q: '"Failover finding 6"', strategy: "bm25", group: "none", context: 2 });
      const hit = body.results.find((r) => r.external_id === "T-100-r6")!;
      expect(hit.context?.before.map((m) => m.external_id)).toEqual(["T-100-r4", "T-100-r5"]);
      expect(hit.context?.after.map((m) => m.external_id)).toEqual(["T-100-r7", "T-100-r8"]);
      // A top-level message: its channel's top-level neighbours (the thread's replies stay in it).
      const report = (await search({ q: "report tomorrow", strategy: "bm25", context: 1 })).results.find(
        (r) => r.external_id === "after-thread",
      )!;
      expect(report.context?.before.map((m) => m.external_id)).toEqual(["T-100"]);
      expect(report.context?.after).toEqual([]);
    });

    it.each(["hybrid", "bm25", "semantic"])(
      "%s, sort=recent: newest first, paged without duplicates",
      async (strategy) => {
        const ids: number[] = [];
        const times: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Body = await search({
            q: "login",
            strategy,
            sort: "recent",
            group: "none",
            limit: 5,
            ...(cursor ? { cursor } : {}),
          });
          ids.push(...page.results.map((r) => r.message_id));
          times.push(...page.results.map((r) => r.timestamp));
          cursor = page.next_cursor;
        } while (cursor);
        expect(ids.length).toBeGreaterThan(5);
        expect(new Set(ids).size).toBe(ids.length);
        expect(times).toEqual([...times].sort().reverse());
        const relevance = await search({ q: "login", strategy, group: "none", limit: 100 });
        if (strategy === "bm25")
          expect([...ids].sort()).toEqual(relevance.results.map((r) => r.message_id).sort());
      },
    );
  });
});
