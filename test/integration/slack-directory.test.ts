import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverSlackEvents, startTestApp, type TestApp } from "../helpers/local-app";
import { type SlackPayload, slackFixture } from "../helpers/slack-fixtures";
import { type SlackWebApiStandIn, startSlackWebApi } from "../helpers/slack-web-api";
import { waitUntil } from "../helpers/wait";

const SECRET = "directory-signing-secret-7d21";
const TOKEN = "xoxb-directory-test-token";
const TEAM = "T123ABC456";

let seq = 0;
const envelope = (event: Record<string, unknown>, eventTime: number): SlackPayload => ({
  type: "event_callback",
  team_id: TEAM,
  event_id: `EvDir${++seq}`,
  event_time: eventTime,
  event,
});

const slackUser = (id: string, name: string, displayName: string, extra: Record<string, unknown> = {}) => ({
  id,
  team_id: TEAM,
  name,
  real_name: `${displayName} Real`,
  deleted: false,
  is_bot: false,
  profile: { display_name: displayName, real_name: `${displayName} Real` },
  ...extra,
});

describe("directory: kept current from Slack events, unknown ids looked up with the Web API", () => {
  let t: TestApp;
  let slack: SlackWebApiStandIn;

  const deliver = (...payloads: SlackPayload[]) => deliverSlackEvents(t, SECRET, ...payloads);
  const user = async (id: string) =>
    (
      await t.db.pool.query(
        "SELECT name, display_name, real_name, is_bot, deleted FROM directory_users WHERE user_id = $1",
        [id],
      )
    ).rows[0];
  const conversation = async (id: string) =>
    (
      await t.db.pool.query(
        "SELECT name, kind, archived FROM directory_conversations WHERE conversation_id = $1",
        [id],
      )
    ).rows[0];

  beforeAll(async () => {
    slack = await startSlackWebApi(TOKEN);
    t = await startTestApp("slack-directory", {
      env: { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: slack.url },
    });
  });
  afterAll(async () => {
    await t?.close();
    await slack?.close();
  });

  it("looks up an unknown author, channel and mention once (through a 429), and leaves an id Slack does not know", async () => {
    slack.users.set("U0ALICE01", slackUser("U0ALICE01", "alice", "Alice"));
    slack.conversations.set("C0GENERAL", {
      id: "C0GENERAL",
      name: "general",
      is_channel: true,
      is_archived: false,
    });
    slack.rateLimitFirst["users.info"] = 1;
    const m = slackFixture("message");
    m.event_id = "EvDirMsg1";
    Object.assign(m.event, {
      channel: "C0GENERAL",
      user: "U0ALICE01",
      text: "ping <@U0NOBODY1> about the deploy",
      ts: "1700000100.000100",
      event_ts: "1700000100.000100",
    });
    await deliver(m);
    await waitUntil("the author was looked up", async () => (await user("U0ALICE01")) !== undefined);
    expect(await user("U0ALICE01")).toEqual({
      name: "alice",
      display_name: "Alice",
      real_name: "Alice Real",
      is_bot: false,
      deleted: false,
    });
    expect(await conversation("C0GENERAL")).toEqual({ name: "general", kind: "public", archived: false });
    expect(await user("U0NOBODY1")).toBeUndefined();
    const userCalls = slack.calls.filter((c) => c.method === "users.info");
    expect(userCalls.map((c) => [c.id, c.status])).toEqual([
      ["U0ALICE01", 429],
      ["U0ALICE01", 200],
      ["U0NOBODY1", 200],
    ]);
    expect(userCalls.every((c) => c.token === TOKEN)).toBe(true);
    // The message itself was stored with ids, as before.
    const stored = await t.db.pool.query("SELECT author, channel FROM messages");
    expect(stored.rows).toEqual([{ author: "U0ALICE01", channel: "C0GENERAL" }]);

    // Known now: a second message from the same people asks Slack nothing more about them.
    const before = slack.calls.filter((c) => c.id !== "U0NOBODY1").length;
    const m2 = slackFixture("message");
    m2.event_id = "EvDirMsg2";
    Object.assign(m2.event, { channel: "C0GENERAL", user: "U0ALICE01", ts: "1700000101.000100" });
    await deliver(m2);
    expect(slack.calls.filter((c) => c.id !== "U0NOBODY1").length).toBe(before);
  });

  it("user_change and team_join update users; an older event arriving later changes nothing", async () => {
    await deliver(
      envelope({ type: "team_join", user: slackUser("U0BOB0001", "bob", "Bob") }, 1_700_000_200),
      envelope({ type: "user_change", user: slackUser("U0BOB0001", "bob", "Robert") }, 1_700_000_300),
      envelope({ type: "user_change", user: slackUser("U0BOB0001", "bob", "Bobby") }, 1_700_000_250),
      envelope(
        { type: "user_change", user: slackUser("U0BOT0001", "deploybot", "Deploy Bot", { is_bot: true }) },
        1_700_000_300,
      ),
    );
    expect(await user("U0BOB0001")).toMatchObject({ name: "bob", display_name: "Robert", deleted: false });
    expect(await user("U0BOT0001")).toMatchObject({ is_bot: true });
    await deliver(
      envelope(
        { type: "user_change", user: slackUser("U0BOB0001", "bob", "Robert", { deleted: true }) },
        1_700_000_400,
      ),
    );
    expect(await user("U0BOB0001")).toMatchObject({ deleted: true });
  });

  it("channel_created/rename/archive and group_rename update conversations, newest per field", async () => {
    await deliver(
      envelope(
        { type: "channel_created", channel: { id: "C0OPS0001", name: "ops", created: 1 } },
        1_700_000_500,
      ),
      envelope({ type: "channel_archive", channel: "C0OPS0001", user: "U0BOB0001" }, 1_700_000_700),
      // An older rename arrives after the archive: the name still changes (its own field, its own
      // time) and the archive stays.
      envelope({ type: "channel_rename", channel: { id: "C0OPS0001", name: "ops-old" } }, 1_700_000_600),
      envelope({ type: "channel_rename", channel: { id: "C0OPS0001", name: "ops-stale" } }, 1_700_000_550),
      envelope({ type: "group_rename", channel: { id: "G0SECRET1", name: "secret-plans" } }, 1_700_000_600),
    );
    expect(await conversation("C0OPS0001")).toEqual({ name: "ops-old", kind: "public", archived: true });
    expect(await conversation("G0SECRET1")).toEqual({
      name: "secret-plans",
      kind: "private",
      archived: false,
    });
    await deliver(envelope({ type: "channel_unarchive", channel: "C0OPS0001" }, 1_700_000_800));
    expect(await conversation("C0OPS0001")).toMatchObject({ archived: false });
    expect(t.app.pollers.ingest.counters.failedItems).toBe(0);
  });

  it("the scheduled resync fills the directory from users.list and conversations.list (in AWS the ingest consumer cannot reach Slack)", async () => {
    slack.teamId = TEAM; // auth.test: the source the slices are applied to
    // The adapter asks users.list for 200 a page: 250 users take two pages.
    for (let i = 0; i < 250; i++) {
      const id = `U0SYNC${String(i).padStart(3, "0")}`;
      slack.users.set(id, slackUser(id, `sync${i}`, `Sync ${i}`, i === 7 ? { deleted: true } : {}));
    }
    slack.conversations.set("C0SYNCPUB", { id: "C0SYNCPUB", name: "sync-public", is_channel: true });
    slack.conversations.set("G0SYNCPRV", { id: "G0SYNCPRV", name: "sync-private", is_private: true });
    slack.conversations.set("D0SYNCDM1", { id: "D0SYNCDM1", is_im: true });
    // The same run lists the private ones' members (the membership resync).
    slack.members.set("G0SYNCPRV", ["U0SYNC000"]);
    slack.members.set("D0SYNCDM1", ["U0SYNC000", "U0SYNC001"]);
    // A later rename in Slack: the resync (now) is newer than the event (2023) and wins.
    await deliver(
      envelope({ type: "channel_rename", channel: { id: "C0SYNCPUB", name: "old" } }, 1_700_000_900),
    );
    const listsBefore = slack.calls.filter((c) => c.method === "users.list").length;
    const conversationListsBefore = slack.calls.filter((c) => c.method === "conversations.list").length;
    await t.app.schedules.membershipSync.runOnce();
    // 250 users go to the ingest queue as two slices (200 + 50), which may be applied in either order.
    await waitUntil(
      "the directory slices were applied",
      async () => (await user("U0SYNC000")) !== undefined && (await user("U0SYNC249")) !== undefined,
    );
    // The member lists (queued after) may be applied first: wait for the slice's own names.
    await waitUntil(
      "the conversation slice was applied",
      async () => (await conversation("C0SYNCPUB"))?.name === "sync-public",
    );
    expect(await user("U0SYNC000")).toEqual({
      name: "sync0",
      display_name: "Sync 0",
      real_name: "Sync 0 Real",
      is_bot: false,
      deleted: false,
    });
    expect(await user("U0SYNC007")).toMatchObject({ deleted: true });
    expect(await conversation("C0SYNCPUB")).toEqual({ name: "sync-public", kind: "public", archived: false });
    expect(await conversation("G0SYNCPRV")).toMatchObject({ name: "sync-private", kind: "private" });
    expect(await conversation("D0SYNCDM1")).toMatchObject({ kind: "im" });
    const lists = slack.calls.filter((c) => c.method === "users.list").slice(listsBefore);
    expect(lists.map((c) => c.status)).toEqual([200, 200]);
    expect(lists.every((c) => c.token === TOKEN)).toBe(true);
    // One conversations.list page serves the directory and the member lists alike.
    expect(
      slack.calls.filter((c) => c.method === "conversations.list").length - conversationListsBefore,
    ).toBe(1);
    const members = async () =>
      (
        await t.db.pool.query<{ conversation_id: string; principal: string }>(
          `SELECT conversation_id, principal FROM conversation_members
           WHERE member AND conversation_id IN ('G0SYNCPRV', 'D0SYNCDM1') ORDER BY 1, 2`,
        )
      ).rows.map((r) => `${r.conversation_id}:${r.principal}`);
    await waitUntil("the member lists were applied", async () => (await members()).length === 3);
    expect(await members()).toEqual(["D0SYNCDM1:U0SYNC000", "D0SYNCDM1:U0SYNC001", "G0SYNCPRV:U0SYNC000"]);
    expect(t.app.pollers.ingest.counters.failedItems).toBe(0);
  });
});
