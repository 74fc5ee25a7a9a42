import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { type SlackWebApiStandIn, startSlackWebApi } from "../helpers/slack-web-api";
import { waitUntil } from "../helpers/wait";

interface GapBody {
  label: string;
  first_at: string;
  last_at: string;
  score: {
    value: number;
    similarity: number;
    participant_overlap: number;
    messages: number;
    size_factor: number;
  };
  sides: {
    conversations: string[];
    people: string[];
    message_count: number;
    representatives: { content: string; author: string }[];
  }[];
}
interface GapsBody {
  computed_at: string | null;
  window: { since: string; until: string } | null;
  gaps: GapBody[];
}

const TOKEN = "xoxb-gaps-digest";
const MOBILE_PEOPLE = ["frank@company.com", "grace@company.com"];
/** The digest's channel: frank and grace (the #mobile people) are its members. */
const DIGEST = "C0DIGEST01";

const channelsOf = (g: GapBody) => g.sides.flatMap((s) => s.conversations).sort();
const isOAuthGap = (g: GapBody) => channelsOf(g).join() === "#auth-team,#mobile";
const isStripeTopic = (g: GapBody) =>
  g.sides.some((s) => s.representatives.some((m) => /stripe webhook/i.test(m.content)));

describe("coordination gaps on the demo set (real local stack)", () => {
  let t: TestApp;
  let slack: SlackWebApiStandIn;
  const gaps = async (qs = "") => {
    const res = await t.api("GET", `/gaps${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as GapsBody;
  };

  beforeAll(async () => {
    slack = await startSlackWebApi(TOKEN);
    slack.conversations.set(DIGEST, { id: DIGEST, name: "eng-leads", is_private: true });
    t = await startTestApp("gaps", {
      env: { SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: slack.url, GAPS_DIGEST_CHANNEL: DIGEST },
    });
    const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES });
    expect(res.status).toBe(202);
    // The digest channel's members are frank and grace (the #mobile people). The demo's channels
    // declared nothing: open to everyone. #platform is private to frank and grace, and another
    // source has a members-only conversation that is also called #billing.
    const at = new Date("2025-12-01T00:00:00Z");
    const other = { type: "app", name: "other-tenant" };
    await createContainer(t.config).access.apply([
      { kind: "audience", source: DEMO_SOURCE, conversation: DIGEST, audience: "members", at },
      { kind: "members", source: DEMO_SOURCE, conversation: DIGEST, principals: MOBILE_PEOPLE, at },
      { kind: "audience", source: DEMO_SOURCE, conversation: "#platform", audience: "members", at },
      { kind: "members", source: DEMO_SOURCE, conversation: "#platform", principals: MOBILE_PEOPLE, at },
      { kind: "audience", source: other, conversation: "#billing", audience: "members", at },
    ]);
    await waitUntil(
      "demo set indexed",
      async () => {
        const c = await storeCounts(createContainer(t.config));
        if (!(inSync(c) && c.postgres === DEMO_MESSAGES.length)) return false;
        // Every message's current version in both indexes: a context change (a later neighbour, a
        // name) re-embeds a message that was already counted, and detection must read the final vectors.
        const lag = await t.db.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM messages WHERE deleted_at IS NULL
             AND (vector_version IS DISTINCT FROM version OR keyword_version IS DISTINCT FROM version)`,
        );
        return Number(lag.rows[0]!.n) === 0;
      },
      { timeoutMs: 120_000 },
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await slack?.close();
  });

  it("answers an empty list before the first computation", async () => {
    expect(await gaps()).toEqual({ computed_at: null, window: null, gaps: [] });
  });

  it("the schedule computes the OAuth/login gap between #auth-team and #mobile, not the shared Stripe work", async () => {
    const run = (await t.app.schedules.gaps.runOnce()) as { runId: number; gaps: number };
    expect(run.gaps).toBeGreaterThan(0);
    const body = await gaps();
    expect(body.computed_at).not.toBeNull();
    // The window is the 7 days up to the newest demo message.
    const newest = Math.max(...DEMO_MESSAGES.map((m) => Date.parse(m.timestamp)));
    expect(Date.parse(body.window!.until)).toBe(newest + 1);
    expect(Date.parse(body.window!.until) - Date.parse(body.window!.since)).toBe(7 * 86_400_000);

    const oauth = body.gaps.find(isOAuthGap);
    expect(oauth, JSON.stringify(body.gaps.map((g) => [g.label, channelsOf(g)]))).toBeDefined();
    const [auth, mobile] = ["#auth-team", "#mobile"].map(
      (c) => oauth!.sides.find((s) => s.conversations.includes(c))!,
    );
    // The rollout's authors on one side, the debugging's on the other. A model may also put erin's
    // "session timeout ... 30 days for mobile with refresh tokens" on the #auth-team side: on topic.
    expect(auth!.people).toEqual(expect.arrayContaining(["bob@company.com", "charlie@company.com"]));
    expect(mobile!.people).toEqual(["frank@company.com", "grace@company.com"]);
    for (const side of oauth!.sides)
      for (const m of side.representatives)
        expect(m.content).toMatch(/refresh token|invalid_grant|log(in|ged)/i);
    expect(oauth!.label).toMatch(/refresh|token|invalid_grant|login/);
    expect(oauth!.score.participant_overlap).toBe(0);
    expect(oauth!.score.value).toBeGreaterThan(0);
    expect(body.gaps.some(isStripeTopic)).toBe(false);
  });

  it("the schedule posts the new gaps to the digest channel once, only between conversations open to all its readers", async () => {
    // The OAuth gap's sides (#auth-team, #mobile) are open to everyone: posted by the first run.
    await waitUntil("the digest posted", async () => slack.posts.length > 0, { timeoutMs: 30_000 });
    expect(slack.posts).toHaveLength(1);
    const post = slack.posts[0]!;
    expect(post.channel).toBe(DIGEST);
    expect(post.text).toMatch(/^1 new coordination gap: /);
    const shown = JSON.stringify(post.blocks);
    expect(shown).toContain("*#auth-team*");
    expect(shown).toContain("*#mobile*");
    expect(shown).toContain("frank@company.com");

    // Never a members-only conversation, even one every current member may read (whoever joins the
    // channel later reads the digest too); never an id another source keeps members-only.
    const access = createContainer(t.config).access;
    const readers = async (c: string) =>
      (await access.conversationsEveryReaderSees(c)).map((r) => r.conversation);
    const seen = await readers(DIGEST);
    expect(seen).toEqual(expect.arrayContaining(["#auth-team", "#mobile"]));
    expect(seen).not.toContain("#platform");
    expect(seen).not.toContain("#billing");
    // Nothing recorded about a channel: nobody is known to read it, so a digest there shows nothing.
    expect(await readers("C0UNKNOWN1")).toEqual([]);

    // Stored sides name their conversations with their source, which GET /gaps and the digest check
    // (two sources may use one channel id).
    const stored = await createContainer(t.config).gapStore.latestRun({ limit: 1000 });
    const refs = stored!.gaps.find((g) => g.sides.some((sd) => sd.conversations.includes("#mobile")))!.sides;
    expect(
      refs
        .flatMap((sd) => sd.conversationRefs ?? [])
        .sort((a, b) => a.conversation.localeCompare(b.conversation)),
    ).toEqual([
      { source: DEMO_SOURCE, conversation: "#auth-team" },
      { source: DEMO_SOURCE, conversation: "#mobile" },
    ]);

    // The digest compares against the latest run's message ids, read alone: exactly its gaps' messages.
    expect(await createContainer(t.config).gapStore.latestRunMessageIds()).toEqual(
      new Set(stored!.gaps.flatMap((g) => g.messageIds)),
    );

    // The next run finds the same gaps: nothing new, nothing posted.
    const again = (await t.app.schedules.gaps.runOnce()) as { gaps: number; digested: number };
    expect(again.gaps).toBeGreaterThan(0);
    expect(again.digested).toBe(0);
    expect(slack.calls.filter((c) => c.method === "chat.postMessage")).toHaveLength(1);
  });

  it("filters by channel, time and limit", async () => {
    expect((await gaps("?channel=%23mobile")).gaps.some(isOAuthGap)).toBe(true);
    expect((await gaps("?channel=%23billing,%23platform")).gaps.some(isOAuthGap)).toBe(false);
    expect((await gaps("?until=2025-12-02")).gaps).toEqual([]);
    expect((await gaps("?since=1d")).gaps.some(isOAuthGap)).toBe(true);
    expect((await gaps("?limit=1")).gaps.length).toBeLessThanOrEqual(1);
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=many", "limit"],
    ["?since=yesterday", "since"],
    ["?until=2025-13-01", "until"],
    ["?since=2025-12-10&until=2025-12-01", "since"],
  ])("GET /gaps%s is a 400 naming %s", async (qs, field) => {
    const res = await t.api("GET", `/gaps${qs}`);
    expect(res.status).toBe(400);
    const body = res.body as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe("validation_error");
    expect(body.error.details.map((d) => d.path)).toEqual([field]);
  });

  const cli = (args: string[]) => {
    const cfg = t.config;
    return promisify(execFile)(process.execPath, ["--import", "tsx", "cli/main.ts", "gaps", ...args], {
      env: {
        ...process.env,
        DATABASE_URL: cfg.DATABASE_URL,
        OPENSEARCH_INDEX: cfg.OPENSEARCH_INDEX,
        CHROMA_COLLECTION: cfg.CHROMA_COLLECTION,
        QUEUE_PREFIX: cfg.QUEUE_PREFIX,
        LOG_LEVEL: "SILENT",
      },
      timeout: 120_000,
    });
  };

  it("`trisearch gaps` prints the OAuth gap in its table", async () => {
    const { stdout } = await cli([]);
    expect(stdout).toMatch(/coordination gap\(s\)/);
    const row = stdout
      .split("\n")
      .find((l) => /#auth-team \([23]\) \| #mobile \(2\)|#mobile \(2\) \| #auth-team \([23]\)/.test(l));
    expect(row, stdout).toBeDefined();
    expect(stdout).toContain("frank@company.com, grace@company.com");
    expect(stdout).not.toMatch(/Stripe webhook/);
  }, 150_000);

  it("`trisearch gaps --save` stores the whole window; --channel and --limit narrow the printout only", async () => {
    const { stdout } = await cli(["--save", "--channel", "#billing", "--limit", "1"]);
    expect(stdout).toMatch(/ 0 coordination gap\(s\)/);
    // GET /gaps reads the saved run: the OAuth gap (no #billing side) is in it.
    expect((await gaps()).gaps.some(isOAuthGap)).toBe(true);
  }, 150_000);
});
