import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../functions/core/errors";
import { routeSlackEnvelope } from "../../../functions/core/slack/slack-envelope";
import { mapSlackEvent, slackTsToDate, slackTsToMicros } from "../../../functions/core/slack/slack-events";
import { acceptSlackRequest } from "../../../functions/core/slack/slack-webhook";
import { slackFixture } from "../../helpers/slack-fixtures";

const opts = { storeBots: true };

describe("Slack ts", () => {
  it("keeps every microsecond and converts to a Date in ms", () => {
    expect(slackTsToMicros("1355517523.000005")).toBe(1_355_517_523_000_005n);
    expect(slackTsToMicros("1355517523.1")).toBe(1_355_517_523_100_000n);
    expect(slackTsToDate("1355517523.000005").toISOString()).toBe("2012-12-14T20:38:43.000Z");
  });
});

describe("mapSlackEvent", () => {
  it("maps a message: team -> source, channel, user -> author, ts -> external id and timestamp", () => {
    const op = mapSlackEvent(slackFixture("message"), opts);
    expect(op).toEqual({
      kind: "apply",
      change: {
        kind: "upsert",
        eventId: "Ev123ABC456",
        source: { type: "slack", name: "T123ABC456" },
        sourceTimeUs: 1_355_517_523_000_005n,
        message: {
          externalId: "C123ABC456:1355517523.000005",
          channel: "C123ABC456",
          author: "U123ABC456",
          content: "Hello world",
          timestamp: new Date("2012-12-14T20:38:43.000Z"),
          threadId: null,
          metadata: {
            team_id: "T123ABC456",
            ts: "1355517523.000005",
            channel_type: "channel",
          },
        },
      },
    });
  });

  it("uses a configured source name for every team", () => {
    const op = mapSlackEvent(slackFixture("message"), { storeBots: true, sourceName: "acme" });
    expect(op.kind === "apply" && op.change.source).toEqual({ type: "slack", name: "acme" });
  });

  it("message_changed updates the message identified by message.ts, versioned by the change's ts", () => {
    const op = mapSlackEvent(slackFixture("message-changed"), opts);
    expect(op.kind).toBe("apply");
    if (op.kind !== "apply" || op.change.kind !== "upsert") throw new Error("expected an upsert");
    expect(op.change.message.externalId).toBe("C123ABC456:1355517523.000005");
    expect(op.change.message.content).toBe("Hello, world!");
    expect(op.change.message.timestamp).toEqual(new Date("2012-12-14T20:38:43.000Z"));
    expect(op.change.sourceTimeUs).toBe(1_358_878_755_000_001n);
    expect(op.change.message.metadata).toMatchObject({
      edited: { user: "U123ABC456", ts: "1358878755.000001" },
    });
  });

  it("message_deleted deletes the message identified by deleted_ts", () => {
    expect(mapSlackEvent(slackFixture("message-deleted"), opts)).toEqual({
      kind: "apply",
      change: {
        kind: "delete",
        eventId: "Ev123ABC458",
        source: { type: "slack", name: "T123ABC456" },
        externalId: "C123ABC456:1355517523.000005",
        sourceTimeUs: 1_358_878_760_000_001n,
      },
    });
  });

  it("a message_changed into a tombstone (thread parent deleted) is a delete", () => {
    const p = slackFixture("message-changed");
    p.event.message.subtype = "tombstone";
    p.event.message.text = "This message was deleted.";
    const op = mapSlackEvent(p, opts);
    expect(op.kind === "apply" && op.change.kind).toBe("delete");
  });

  it("thread_broadcast is stored as the thread reply it is (thread id = the parent's external id)", () => {
    const op = mapSlackEvent(slackFixture("thread-broadcast"), opts);
    if (op.kind !== "apply" || op.change.kind !== "upsert") throw new Error("expected an upsert");
    expect(op.change.message).toMatchObject({
      externalId: "C123ABC456:1673464745.620769",
      threadId: "C123ABC456:1673464730.703009",
      content: "broadcasting this reply",
    });
    expect(op.change.message.metadata).not.toHaveProperty("subtype");
    expect(op.change.message.metadata).toMatchObject({
      client_msg_id: "7d3e9b2a-6c1f-4a8e-b5d0-3f2a1c9e8b74",
    });
  });

  it("bot_message is stored and marked by default, ignored when configured off", () => {
    const op = mapSlackEvent(slackFixture("bot-message"), opts);
    if (op.kind !== "apply" || op.change.kind !== "upsert") throw new Error("expected an upsert");
    expect(op.change.message.author).toBe("github");
    expect(op.change.message.metadata).toMatchObject({
      bot: true,
      bot_id: "BB12033",
      subtype: "bot_message",
    });
    expect(mapSlackEvent(slackFixture("bot-message"), { storeBots: false })).toEqual({
      kind: "ignore",
      eventId: "Ev123ABC460",
      reason: "bot_message",
    });
  });

  it("ignores channel_join and other non-message subtypes and event types", () => {
    expect(mapSlackEvent(slackFixture("channel-join"), opts)).toEqual({
      kind: "ignore",
      eventId: "Ev123ABC461",
      reason: "subtype:channel_join",
    });
    const topic = slackFixture("channel-join");
    topic.event.subtype = "channel_topic";
    expect(mapSlackEvent(topic, opts)).toMatchObject({ kind: "ignore", reason: "subtype:channel_topic" });
    const reaction = slackFixture("message");
    reaction.event = { type: "reaction_added", user: "U1", reaction: "thumbsup", event_ts: "1.2" };
    expect(mapSlackEvent(reaction, opts)).toMatchObject({ kind: "ignore", reason: "event:reaction_added" });
  });

  it("keeps reactions and a file count; a file-only message is stored under its file names", () => {
    const p = slackFixture("message");
    p.event.subtype = "file_share";
    p.event.text = "";
    p.event.files = [
      { id: "F1", name: "design.pdf", title: "Design review" },
      { id: "F2", name: "notes.txt" },
    ];
    p.event.reactions = [{ name: "eyes", count: 2, users: ["U1", "U2"] }];
    const op = mapSlackEvent(p, opts);
    if (op.kind !== "apply" || op.change.kind !== "upsert") throw new Error("expected an upsert");
    expect(op.change.message.content).toBe("Design review\nnotes.txt");
    expect(op.change.message.metadata).toMatchObject({ files: 2, reactions: [{ name: "eyes", count: 2 }] });
    p.event.files = [];
    expect(mapSlackEvent(p, opts)).toMatchObject({ kind: "ignore", reason: "empty" });
  });

  it("rejects what can never be applied (the record then goes to the DLQ)", () => {
    const badTs = slackFixture("message");
    badTs.event.ts = "yesterday";
    expect(() => mapSlackEvent(badTs, opts)).toThrow(ValidationError);
    const noChannel = slackFixture("message");
    delete noChannel.event.channel;
    expect(() => mapSlackEvent(noChannel, opts)).toThrow(ValidationError);
    const noAuthor = slackFixture("message");
    delete noAuthor.event.user;
    expect(() => mapSlackEvent(noAuthor, opts)).toThrow(/no user/);
    const noDeletedTs = slackFixture("message-deleted");
    delete noDeletedTs.event.deleted_ts;
    expect(() => mapSlackEvent(noDeletedTs, opts)).toThrow(ValidationError);
    expect(() => mapSlackEvent(slackFixture("url-verification"), opts)).toThrow(ValidationError);
  });
});

describe("webhook routing", () => {
  it("answers url_verification, enqueues event_callback as received (one send), acks other types", async () => {
    const sent: { body: string; attributes?: Readonly<Record<string, string>> }[] = [];
    const queue = {
      send: async (body: string, attributes?: Readonly<Record<string, string>>) =>
        void sent.push({ body, attributes }),
    };
    const challenge = JSON.stringify(slackFixture("url-verification"));
    expect(await acceptSlackRequest({ queue }, challenge)).toEqual({
      kind: "challenge",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
    const raw = JSON.stringify(slackFixture("message"), null, 2);
    expect(await acceptSlackRequest({ queue }, raw, { retryNum: "1", retryReason: "http_timeout" })).toEqual({
      kind: "queued",
      eventId: "Ev123ABC456",
    });
    expect(sent).toEqual([
      {
        body: raw,
        attributes: {
          eventId: "Ev123ABC456",
          teamId: "T123ABC456",
          slackRetryNum: "1",
          slackRetryReason: "http_timeout",
        },
      },
    ]);
    expect(
      await acceptSlackRequest(
        { queue },
        JSON.stringify({ type: "app_rate_limited", minute_rate_limited: 1 }),
      ),
    ).toEqual({
      kind: "ignored",
      type: "app_rate_limited",
    });
    expect(sent).toHaveLength(1);
    await expect(acceptSlackRequest({ queue }, "token=x&team_id=T1")).rejects.toThrow(ValidationError);
    expect(() => routeSlackEnvelope({ type: "event_callback", team_id: "T1" })).toThrow(ValidationError);
  });

  it("a failed enqueue is a retryable 503 (Slack retries; nothing is lost)", async () => {
    const queue = { send: async () => Promise.reject(new Error("SQS down")) };
    await expect(
      acceptSlackRequest({ queue }, JSON.stringify(slackFixture("message"))),
    ).rejects.toMatchObject({
      status: 503,
      retryable: true,
    });
  });
});
