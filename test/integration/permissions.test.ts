import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { createContainer } from "../../functions/shared/container";
import { deliverSlackEvents, startTestApp, type TestApp } from "../helpers/local-app";
import { slackHeaders } from "../helpers/slack-fixtures";
import { type SlackWebApiStandIn, startSlackWebApi } from "../helpers/slack-web-api";
import { waitUntil } from "../helpers/wait";

/**
 * Issue 16: nobody finds a message from a conversation they are not in. A Slack workspace of public
 * and private channels, a group DM and DMs, and an app's public and principal-listed conversations;
 * membership changes go through the real path (signed Slack events -> ingest queue -> consumer) and
 * every search goes through the HTTP API as a viewer.
 */

const SECRET = "permissions-signing-secret-4411";
const TOKEN = "xoxb-permissions-test-token";
const TEAM = "T0PERMS";
const SLACK = `slack:${TEAM}`;
const USERS = ["U1", "U2", "U3", "U4", "U5"];
/** U6 is nobody's colleague: not in the workspace's directory. */
const VIEWERS = [...USERS, "U6"];
const VOCAB = ["apple", "banana", "cherry", "delta", "echo", "falcon"];

type Kind = "public" | "private" | "im" | "mpim";
const CHANNELS = ["C01", "C02", "C03", "C04", "C05", "C06"];
const INITIAL: Record<string, { kind: Kind; members: string[] }> = {
  C01: { kind: "public", members: ["U1", "U2"] },
  C02: { kind: "public", members: ["U3"] },
  C03: { kind: "private", members: ["U1"] },
  C04: { kind: "private", members: ["U2", "U3"] },
  C05: { kind: "private", members: [] },
  C06: { kind: "public", members: [] },
  G01: { kind: "mpim", members: ["U1", "U4", "U5"] },
  D01: { kind: "im", members: ["U1", "U2"] },
  D02: { kind: "im", members: ["U3", "U4"] },
};
/** The app's conversations: one public, one for two principals. */
const APP = { type: "app", name: "wiki" } as const;
const APP_HR_READERS = ["U1", "U3"];

interface CorpusMessage {
  readonly key: string;
  readonly conversation: string;
  readonly content: string;
}
const corpus: CorpusMessage[] = [];
[...Object.keys(INITIAL), "wiki:eng", "wiki:hr"].forEach((conversation, i) => {
  for (let k = 0; k < 4; k++) {
    const words = `${VOCAB[(i + k) % VOCAB.length]} ${VOCAB[(2 * i + k + 1) % VOCAB.length]}`;
    corpus.push({
      key: `${conversation}/${k}`,
      conversation,
      content: `${words} note ${k} from ${conversation.replace(":", " ")}`,
    });
  }
});

/** What the test believes: each conversation's kind and members, and who is in the workspace. */
class Model {
  readonly kinds = new Map<string, Kind>();
  readonly members = new Map<string, Set<string>>();

  constructor() {
    for (const [c, v] of Object.entries(INITIAL)) {
      this.kinds.set(c, v.kind);
      this.members.set(c, new Set(v.members));
    }
  }

  /** The directory's people (team_join); joining a channel does not make U6 one of them. */
  private inWorkspace(user: string): boolean {
    return USERS.includes(user);
  }

  /** `slack:T0PERMS/C01` or `app:wiki/eng` keys of every conversation `user` may read now. */
  visible(user: string): Set<string> {
    const out = new Set<string>([`app:wiki/eng`]);
    if (APP_HR_READERS.includes(user)) out.add("app:wiki/hr");
    for (const [c, kind] of this.kinds) {
      if ((kind === "public" && this.inWorkspace(user)) || this.members.get(c)?.has(user))
        out.add(`${SLACK}/${c}`);
    }
    return out;
  }
}

const corpusKey = (m: CorpusMessage) =>
  m.conversation.startsWith("wiki:") ? `app:wiki/${m.conversation.slice(5)}` : `${SLACK}/${m.conversation}`;

interface Hit {
  message_id: number;
  content: string;
  channel: string;
  source: string;
  source_type: string;
  leg_scores?: unknown;
}
interface Page {
  results: Hit[];
  next_cursor: string | null;
}

/**
 * Slack's clock for the events: strictly increasing (each event newer than the last) and never ahead
 * of real time, so the resync's snapshot (stamped now) is newer than every event before it.
 */
let clockUs = Date.now() * 1000;
let clock = Math.floor(clockUs / 1e6);
let seq = 0;
function envelope(event: Record<string, unknown>) {
  clockUs = Math.max(clockUs + 1000, Date.now() * 1000);
  clock = Math.floor(clockUs / 1e6);
  return {
    type: "event_callback",
    team_id: TEAM,
    event_id: `EvPerm${++seq}`,
    event_time: clock,
    event: { event_ts: `${clock}.${String(clockUs % 1e6).padStart(6, "0")}`, ...event },
  };
}

const snapshot = (c: string, kind: Kind, members: readonly string[]) =>
  envelope({
    type: "trisearch_members_snapshot",
    channel: {
      id: c,
      is_private: kind === "private",
      is_im: kind === "im",
      is_mpim: kind === "mpim",
      members: [...members],
    },
  });

describe("permission-aware search (real local stack)", () => {
  let t: TestApp;
  let slack: SlackWebApiStandIn;
  const model = new Model();

  const deliver = (...payloads: Record<string, unknown>[]) => deliverSlackEvents(t, SECRET, ...payloads);

  const searchPage = async (params: Record<string, string | number | boolean>) => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await t.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Page;
  };

  /** Every page of a search, following next_cursor with explain on. */
  const searchAll = async (viewer: string, q: string, strategy: string, limit = 7) => {
    const hits: Hit[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 40; pages++) {
      const page: Page = await searchPage({
        q,
        strategy,
        viewer,
        limit,
        explain: true,
        ...(cursor ? { cursor } : {}),
      });
      hits.push(...page.results);
      cursor = page.next_cursor;
      if (!cursor) return hits;
    }
    throw new Error("more than 40 pages");
  };

  beforeAll(async () => {
    slack = await startSlackWebApi(TOKEN);
    slack.teamId = TEAM;
    t = await startTestApp("permissions", {
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_API_URL: slack.url,
        // Every request here names its viewer; none may read unscoped.
        SEARCH_ALLOW_UNSCOPED: "false",
      },
    });
    // The workspace's people, then each conversation's kind and members, then the messages.
    for (const u of USERS) {
      slack.users.set(u, { id: u, team_id: TEAM, name: u.toLowerCase() });
      await deliver(envelope({ type: "team_join", user: { id: u, team_id: TEAM, name: u.toLowerCase() } }));
    }
    for (const [c, v] of Object.entries(INITIAL)) await deliver(snapshot(c, v.kind, v.members));
    const channelType: Record<Kind, string> = { public: "channel", private: "group", im: "im", mpim: "mpim" };
    for (const m of corpus.filter((x) => !x.conversation.startsWith("wiki:"))) {
      await deliver(
        envelope({
          type: "message",
          channel: m.conversation,
          channel_type: channelType[INITIAL[m.conversation]!.kind],
          user: "U5",
          text: m.content,
          ts: `${clock}.${String(corpus.indexOf(m)).padStart(6, "0")}`,
        }),
      );
    }
    for (const [channel, visibility] of [
      ["eng", { public: true }],
      ["hr", { principals: APP_HR_READERS }],
    ] as const) {
      const res = await t.api("POST", "/messages", {
        source: APP,
        visibility,
        messages: corpus
          .filter((m) => m.conversation === `wiki:${channel}`)
          .map((m) => ({
            external_id: m.key,
            channel,
            author: "writer@company.com",
            content: m.content,
            timestamp: "2026-12-01T10:00:00Z",
          })),
      });
      expect(res.status).toBe(202);
    }
    await waitUntil(
      "the corpus is indexed",
      async () => {
        const c = await storeCounts(createContainer(t.config));
        return inSync(c) && c.postgres === corpus.length;
      },
      { timeoutMs: 120_000 },
    );
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    await slack?.close();
  });

  it("a search without a viewer is 401 (unscoped reads off); GET /gaps too", async () => {
    const res = await t.api("GET", "/search?q=apple");
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: "unauthorized", details: [{ path: "viewer" }] } });
    expect((await t.api("GET", "/gaps")).status).toBe(401);
    expect((await t.api("GET", "/gaps?viewer=U1")).status).toBe(200);
  });

  it("property: no result is ever from a conversation the viewer is not in, and every visible match is found", async () => {
    const slackChannels = fc.constantFrom(...CHANNELS);
    const user = fc.constantFrom(...VIEWERS);
    const op = fc.oneof(
      fc.record({ op: fc.constant("join" as const), c: slackChannels, u: user, viaMessage: fc.boolean() }),
      fc.record({ op: fc.constant("leave" as const), c: slackChannels, u: user, viaMessage: fc.boolean() }),
      fc.record({ op: fc.constant("convert" as const), c: slackChannels, toPrivate: fc.boolean() }),
    );
    const search = fc.record({
      viewer: user,
      q: fc.constantFrom(...VOCAB, `${VOCAB[0]} OR ${VOCAB[3]}`),
      strategy: fc.constantFrom("bm25", "semantic", "hybrid"),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 6 }),
        fc.array(search, { minLength: 1, maxLength: 3 }),
        async (ops, searches) => {
          for (const o of ops) {
            if (o.op === "convert") {
              await deliver(
                envelope({
                  type: "message",
                  subtype: o.toPrivate ? "channel_convert_to_private" : "channel_convert_to_public",
                  channel: o.c,
                  channel_type: o.toPrivate ? "group" : "channel",
                  user: "U1",
                  text: "changed the channel",
                  ts: `${clock}.000200`,
                }),
              );
              model.kinds.set(o.c, o.toPrivate ? "private" : "public");
              continue;
            }
            const joined = o.op === "join";
            await deliver(
              o.viaMessage
                ? envelope({
                    type: "message",
                    subtype: joined ? "channel_join" : "channel_leave",
                    channel: o.c,
                    user: o.u,
                    text: `<@${o.u}> has ${joined ? "joined" : "left"} the channel`,
                    ts: `${clock}.000300`,
                  })
                : envelope({
                    type: joined ? "member_joined_channel" : "member_left_channel",
                    channel: o.c,
                    user: o.u,
                  }),
            );
            if (joined) model.members.get(o.c)!.add(o.u);
            else model.members.get(o.c)!.delete(o.u);
          }
          for (const s of searches) {
            const visible = model.visible(s.viewer);
            const hits = await searchAll(s.viewer, s.q, s.strategy);
            const keyOf = (h: Hit) => `${h.source_type}:${h.source}/${h.channel}`;
            const leaked = hits.filter((h) => !visible.has(keyOf(h)));
            expect(
              leaked,
              `${s.viewer} ${s.strategy} "${s.q}" saw ${JSON.stringify(leaked.map(keyOf))}`,
            ).toEqual([]);
            expect(hits.every((h) => h.leg_scores !== undefined)).toBe(true);
            const ids = hits.map((h) => h.message_id);
            expect(new Set(ids).size, "no duplicates across pages").toBe(ids.length);
            const terms = s.q.split(" OR ");
            const expected = corpus
              .filter((m) => visible.has(corpusKey(m)) && terms.some((w) => m.content.includes(w)))
              .map((m) => m.content)
              .sort();
            const found = new Set(hits.map((h) => h.content));
            const missing = expected.filter((c) => !found.has(c));
            expect(missing, `${s.viewer} ${s.strategy} "${s.q}" missed visible matches`).toEqual([]);
          }
        },
      ),
      { numRuns: 12, endOnFailure: true },
    );
  }, 600_000);

  it("removed from a private channel: gone from every strategy within 5 s; re-added: back within 5 s", async () => {
    await deliver(snapshot("C05", "private", ["U4"]));
    model.kinds.set("C05", "private");
    model.members.set("C05", new Set(["U4"]));
    const c05 = corpus.filter((m) => m.conversation === "C05");
    const word = c05[0]!.content.split(" ")[0]!;
    const seesC05 = async (strategy: string) =>
      (await searchPage({ q: word, strategy, viewer: "U4", limit: 50 })).results.some(
        (h) => h.channel === "C05",
      );
    for (const strategy of ["bm25", "semantic", "hybrid"]) expect(await seesC05(strategy)).toBe(true);

    const post = async (event: Record<string, unknown>) => {
      const body = JSON.stringify(envelope(event));
      const res = await t.request("POST", "/slack/events", {
        headers: { "content-type": "application/json", ...slackHeaders(SECRET, body) },
        body,
      });
      expect(res.status).toBe(200);
    };
    // The deadline is the acceptance bound (5 s from Slack's event), polled, never slept.
    const within5s = (what: string, check: () => Promise<boolean>) =>
      waitUntil(what, check, { timeoutMs: 5_000, everyMs: 100 });

    await post({ type: "member_left_channel", channel: "C05", user: "U4", channel_type: "C" });
    await within5s("U4 no longer sees C05 in any strategy", async () => {
      const seen = await Promise.all(["bm25", "semantic", "hybrid"].map(seesC05));
      return seen.every((s) => !s);
    });
    model.members.get("C05")!.delete("U4");

    await post({ type: "member_joined_channel", channel: "C05", user: "U4", channel_type: "C" });
    await within5s("U4 sees C05 again in every strategy", async () => {
      const seen = await Promise.all(["bm25", "semantic", "hybrid"].map(seesC05));
      return seen.every(Boolean);
    });
    model.members.get("C05")!.add("U4");
  }, 60_000);

  it("a cursor replayed by another viewer is refused (403); its own viewer pages on", async () => {
    const first = await searchPage({ q: "apple", strategy: "hybrid", viewer: "U1", limit: 2 });
    expect(first.next_cursor).not.toBeNull();
    const cursor = first.next_cursor!;
    const replay = await t.api("GET", `/search?q=apple&strategy=hybrid&limit=2&viewer=U2&cursor=${cursor}`);
    expect(replay.status).toBe(403);
    expect(replay.body).toMatchObject({ error: { code: "forbidden", details: [{ path: "cursor" }] } });
    const own = await t.api("GET", `/search?q=apple&strategy=hybrid&limit=2&viewer=U1&cursor=${cursor}`);
    expect(own.status).toBe(200);
  });

  it("the scheduled resync applies Slack's conversations.members (a member events missed)", async () => {
    slack.conversations.set("C05", { id: "C05", name: "c05", is_private: true });
    slack.members.set("C05", ["U4", "U5"]);
    slack.conversations.set("C06", { id: "C06", name: "c06", is_private: false });
    slack.members.set("C06", ["U1"]);
    const c05 = corpus.filter((m) => m.conversation === "C05");
    const word = c05[0]!.content.split(" ")[0]!;
    const sees = async (viewer: string) =>
      (await searchPage({ q: word, strategy: "bm25", viewer, limit: 50 })).results.some(
        (h) => h.channel === "C05",
      );
    expect(await sees("U5")).toBe(false);
    await t.app.schedules.membershipSync.runOnce();
    await waitUntil("U5 sees C05 after the resync", () => sees("U5"));
    expect(await sees("U4")).toBe(true);
    expect(slack.calls.some((c) => c.method === "conversations.list")).toBe(true);
    // Public channels are not listed: their readers are the workspace.
    expect(slack.calls.filter((c) => c.method === "conversations.members").map((c) => c.id)).toEqual(["C05"]);
    model.members.get("C05")!.add("U5");
  });
});
