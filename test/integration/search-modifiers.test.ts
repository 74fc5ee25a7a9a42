import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE, type DemoMessage } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

/**
 * Slack's modifiers in `q` on the demo set plus a few messages with links, files, reactions,
 * mentions and a DM: every modifier, in every strategy, combined with a plain filter. Results are
 * compared with the whole expected set (limit 100 > the set), so a modifier that filters too much
 * or too little fails.
 */

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
const ALL = [...DEMO_MESSAGES, ...EXTRA];

interface Hit {
  external_id: string;
  content: string;
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
  { mod: "in:#auth-team", plain: { from: "2025-12-01" }, keep: (m) => m.channel === "#auth-team" },
  {
    mod: "in:#auth-team in:mobile",
    plain: { to: "2025-12-31" },
    keep: (m) => ["#auth-team", "#mobile"].includes(m.channel),
  },
  { mod: "in:@alice", plain: { from: "2025-12-01" }, keep: (m) => m.channel === "D0ALICE" },
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
  { mod: "to:U0ALICE", plain: { from: "2025-12-01" }, keep: (m) => m.external_id === "mod-mention" },
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
  { mod: "has:file", plain: { from: "2025-12-01" }, keep: (m) => present(m.metadata?.["files"]) },
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
    const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: ALL });
    expect(res.status).toBe(202);
    await waitUntil("demo set indexed", async () => {
      const counts = await storeCounts(createContainer(t.config));
      return inSync(counts) && counts.postgres === ALL.length;
    });
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
});
