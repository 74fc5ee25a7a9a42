import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackSignature } from "../../functions/core/slack/slack-signature";
import { chromaClient, openSearchClient, sqsClient } from "../../functions/shared/clients";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { type SlackPayload, slackFixture } from "../helpers/slack-fixtures";
import { waitUntil } from "../helpers/wait";

const SECRET = "integration-signing-secret-0f3c9a";
const TEAM = "T123ABC456";
const CHANNEL = "C123ABC456";

/** Unique, increasing Slack ts values: every test works on its own messages. */
let tick = 0;
const nextTs = () => `${1_700_000_000 + ++tick * 10}.${String(tick).padStart(6, "0")}`;
let eventSeq = 0;
const nextEventId = () => `EvIT${++eventSeq}${Math.random().toString(36).slice(2, 8)}`;

const message = (text: string, ts = nextTs()): SlackPayload => {
  const p = slackFixture("message");
  p.event_id = nextEventId();
  Object.assign(p.event, { text, ts, event_ts: ts });
  return p;
};
const edit = (ts: string, text: string, editTs = nextTs()): SlackPayload => {
  const p = slackFixture("message-changed");
  p.event_id = nextEventId();
  p.event.ts = editTs;
  Object.assign(p.event.message, { text, ts, edited: { user: "U123ABC456", ts: editTs } });
  return p;
};
const del = (ts: string, deleteTs = nextTs()): SlackPayload => {
  const p = slackFixture("message-deleted");
  p.event_id = nextEventId();
  Object.assign(p.event, { ts: deleteTs, deleted_ts: ts });
  return p;
};

describe("Slack Events API through the ingest queue on the real local stack", () => {
  let t: TestApp;

  const now = () => String(Math.floor(Date.now() / 1000));
  async function post(
    body: string,
    opts: { headers?: Record<string, string>; contentType?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    const res = await t.request("POST", "/slack/events", {
      headers: { "content-type": opts.contentType ?? "application/json", ...opts.headers },
      body,
    });
    return { status: res.status, body: res.body };
  }
  const signed = (body: string, ts = now()) => ({
    "x-slack-request-timestamp": ts,
    "x-slack-signature": slackSignature(SECRET, ts, body),
  });
  const ingest = () => t.app.pollers.ingest.counters;

  /** Posts signed events one after the other; each is consumed from the ingest queue before the next. */
  async function deliver(...payloads: SlackPayload[]): Promise<void> {
    for (const p of payloads) {
      const target = ingest().deleted + 1;
      const body = JSON.stringify(p);
      const res = await post(body, { headers: signed(body) });
      expect(res).toEqual({ status: 200, body: { ok: true } });
      await waitUntil("the ingest consumer took the event", async () => ingest().deleted >= target);
    }
  }

  const row = async (ts: string) =>
    (
      await t.db.pool.query(
        `SELECT m.id::int, m.content, m.author, m.channel, m.external_id, m.thread_id, m.version::int,
                m.deleted_at, m."timestamp", m.message_metadata, s.type AS source_type, s.name AS source_name
         FROM messages m JOIN sources s ON s.id = m.source_id WHERE m.external_id = $1`,
        [`${CHANNEL}:${ts}`],
      )
    ).rows;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await t.db.pool.query(sql, params)).rows[0].n);
  const osDoc = async (id: number) => {
    const res = await openSearchClient(t.config).get(
      { index: t.config.OPENSEARCH_INDEX, id: String(id) },
      { ignore: [404] },
    );
    const body = res.body as { found?: boolean; _source?: { content: string } };
    return body.found ? { content: body._source?.content } : null;
  };
  const chromaDoc = async (id: number) => {
    const col = await chromaClient(t.config).getCollection({ name: t.config.CHROMA_COLLECTION });
    const res = await col.get({ ids: [`msg_${id}`], include: ["documents"] });
    return res.ids.length ? { content: res.documents[0] } : null;
  };
  const indexed = async (id: number, content: string) => {
    const [os, ch] = [await osDoc(id), await chromaDoc(id)];
    return os?.content === content && ch?.content === content;
  };

  beforeAll(async () => {
    t = await startTestApp("slack", {
      maxReceiveCount: 2,
      visibilityTimeout: 1,
      env: { SLACK_SIGNING_SECRET: SECRET },
    });
  });
  afterAll(async () => t?.close());

  it("answers a signed url_verification with its challenge", async () => {
    const body = JSON.stringify(slackFixture("url-verification"));
    const res = await post(body, { headers: signed(body) });
    expect(res).toEqual({
      status: 200,
      body: { challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" },
    });
  });

  it("rejects unsigned, badly signed, altered and old/future requests with 401 and stores nothing", async () => {
    const body = JSON.stringify(message("never stored"));
    const ts = now();
    const good = signed(body, ts);
    // Well past the 300 s window: seconds pass between signing here and checking there (the exact
    // boundary is unit-tested with a fixed clock in slack-signature.test.ts).
    const old = String(Number(ts) - 360);
    const future = String(Number(ts) + 360);
    const receivedBefore = ingest().received;
    const cases: Record<string, { body: string; headers: Record<string, string> }> = {
      unsigned: { body, headers: {} },
      "missing timestamp": { body, headers: { "x-slack-signature": good["x-slack-signature"] } },
      "missing signature": { body, headers: { "x-slack-request-timestamp": ts } },
      "wrong secret": {
        body,
        headers: { "x-slack-request-timestamp": ts, "x-slack-signature": slackSignature("other", ts, body) },
      },
      "body changed by one byte": { body: body.replace("never", "nevEr"), headers: good },
      "6 min old": { body, headers: signed(body, old) },
      "6 min in the future": { body, headers: signed(body, future) },
      "short signature": {
        body,
        headers: { ...good, "x-slack-signature": good["x-slack-signature"].slice(0, 20) },
      },
    };
    for (const [name, c] of Object.entries(cases)) {
      const res = await post(c.body, { headers: c.headers });
      expect({ name, status: res.status, body: res.body }).toEqual({
        name,
        status: 401,
        body: { error: { code: "invalid_signature", message: "Invalid or missing Slack signature" } },
      });
    }
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ingest().received).toBe(receivedBefore);
    expect(await count("SELECT count(*) AS n FROM messages")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM processed_events")).toBe(0);
  });

  it("a signed message event flows webhook -> ingest queue -> Postgres -> OpenSearch and Chroma", async () => {
    const ts = nextTs();
    const threadTs = nextTs();
    const p = message("Rolling out the OAuth2 PKCE flow to the mobile apps today", ts);
    p.event.thread_ts = threadTs;
    await deliver(p);
    const [r] = await row(ts);
    expect(r).toMatchObject({
      content: "Rolling out the OAuth2 PKCE flow to the mobile apps today",
      author: "U123ABC456",
      channel: CHANNEL,
      external_id: `${CHANNEL}:${ts}`,
      thread_id: `${CHANNEL}:${threadTs}`,
      version: 1,
      deleted_at: null,
      source_type: "slack",
      source_name: TEAM,
      timestamp: new Date(Number(ts.split(".")[0]) * 1000),
      message_metadata: { team_id: TEAM, ts, channel_type: "channel" },
    });
    await waitUntil("indexed in OpenSearch and Chroma", () => indexed(r.id, r.content));
  });

  it("a base64-encoded body (isBase64Encoded) verifies over its raw bytes", async () => {
    const ts = nextTs();
    const body = JSON.stringify(message("Café migration: ünïcode survives the base64 round trip ✓", ts));
    const target = ingest().deleted + 1;
    // A non-text content type makes the gateway base64-encode the body, as API Gateway does.
    const res = await post(body, { headers: signed(body), contentType: "application/octet-stream" });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    await waitUntil("consumed", async () => ingest().deleted >= target);
    expect((await row(ts))[0]?.content).toBe("Café migration: ünïcode survives the base64 round trip ✓");
  });

  it("the same event delivered twice concurrently (one with X-Slack-Retry-Num: 1) -> one row, version 1, one change in the outbox", async () => {
    const ts = nextTs();
    const body = JSON.stringify(message("Incident review moved to Thursday", ts));
    const target = ingest().deleted + 2;
    const [first, retry] = await Promise.all([
      post(body, { headers: signed(body) }),
      post(body, {
        headers: { ...signed(body), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
      }),
    ]);
    // Both copies are accepted and enqueued: the retry may be the only copy that got through.
    expect([first.status, retry.status]).toEqual([200, 200]);
    await waitUntil("both copies consumed", async () => ingest().deleted >= target);
    const rows = await row(ts);
    expect(rows).toHaveLength(1);
    expect(rows[0].version).toBe(1);
    // One change = one outbox entry per index (keyword, vector), not two changes.
    const outbox = await t.db.pool.query(
      "SELECT target, op, version::int FROM outbox WHERE message_id = $1 ORDER BY target",
      [rows[0].id],
    );
    expect(outbox.rows).toEqual([
      { target: "keyword", op: "upsert", version: 1 },
      { target: "vector", op: "upsert", version: 1 },
    ]);
    expect(
      await count("SELECT count(*) AS n FROM processed_events WHERE event_id = $1", [
        JSON.parse(body).event_id,
      ]),
    ).toBe(1);
  });

  it("message -> message_changed -> message_deleted: gone from both indexes, soft-deleted; a stale edit or a late re-post never resurrects it", async () => {
    const ts = nextTs();
    const original = message("Freeze starts Friday for the billing service", ts);
    await deliver(original);
    const [created] = await row(ts);
    await waitUntil("original indexed", () =>
      indexed(created.id, "Freeze starts Friday for the billing service"),
    );

    const staleEditTs = nextTs(); // an edit made before the newer one below, delivered last
    await deliver(edit(ts, "Freeze starts Monday for the billing service"));
    expect((await row(ts))[0]).toMatchObject({
      version: 2,
      content: "Freeze starts Monday for the billing service",
    });
    await waitUntil("edit indexed", () =>
      indexed(created.id, "Freeze starts Monday for the billing service"),
    );

    const deleteTs = nextTs();
    await deliver(del(ts, deleteTs));
    const [deleted] = await row(ts);
    expect(deleted.version).toBe(3);
    expect(deleted.deleted_at).toEqual(new Date(Number(deleteTs.split(".")[0]) * 1000));
    await waitUntil(
      "gone from both indexes",
      async () => (await osDoc(created.id)) === null && (await chromaDoc(created.id)) === null,
    );

    await deliver(
      edit(ts, "Freeze starts Sunday (stale edit)", staleEditTs),
      edit(ts, "Edited after delete?"),
      original,
    );
    const [after] = await row(ts);
    expect(after).toMatchObject({ version: 3, content: "Freeze starts Monday for the billing service" });
    expect(after.deleted_at).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await osDoc(created.id)).toBeNull();
    expect(await chromaDoc(created.id)).toBeNull();
  });

  it("an edit that arrives before its original wins; the late original is stale", async () => {
    const ts = nextTs();
    const original = message("Standup at 9:30", ts);
    await deliver(edit(ts, "Standup at 10:00 (edited)"), original);
    const [r] = await row(ts);
    expect(r).toMatchObject({ version: 1, content: "Standup at 10:00 (edited)", deleted_at: null });
    await waitUntil("the edit is what the indexes hold", () => indexed(r.id, "Standup at 10:00 (edited)"));
  });

  it("a delete that arrives before its create leaves nothing live", async () => {
    const ts = nextTs();
    await deliver(del(ts), message("Posted then deleted; delivered out of order", ts));
    expect(await row(ts)).toEqual([]);
    expect(
      await count("SELECT count(*) AS n FROM source_tombstones WHERE external_id = $1", [`${CHANNEL}:${ts}`]),
    ).toBe(1);
  });

  it("channel_join is acked and ignored; bot_message is stored and marked; thread_broadcast is stored once", async () => {
    const join = slackFixture("channel-join");
    join.event_id = nextEventId();
    const before = await count("SELECT count(*) AS n FROM messages");
    await deliver(join);
    expect(await count("SELECT count(*) AS n FROM messages")).toBe(before);

    const bot = slackFixture("bot-message");
    bot.event_id = nextEventId();
    await deliver(bot);
    expect((await row(bot.event.ts))[0]).toMatchObject({
      author: "github",
      message_metadata: { bot: true, bot_id: "BB12033" },
    });

    const broadcast = slackFixture("thread-broadcast");
    const reply = slackFixture("thread-broadcast");
    reply.event_id = "EvPlainReply1";
    delete reply.event.subtype;
    delete reply.event.root;
    await deliver(reply, broadcast);
    expect(await row(broadcast.event.ts)).toHaveLength(1);
  });

  it("an event that can never be applied is accepted by the webhook and lands in the ingest DLQ", async () => {
    const ts = nextTs();
    const bad = message("the consumer cannot map this", ts);
    bad.event.ts = "not-a-slack-ts";
    const body = JSON.stringify(bad);
    expect((await post(body, { headers: signed(body) })).status).toBe(200);
    const dead = await waitUntil("the event in the ingest DLQ", async () => {
      const res = await sqsClient(t.config).send(
        new ReceiveMessageCommand({
          QueueUrl: t.queues.ingest.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      return res.Messages?.length ? res.Messages : null;
    });
    expect((dead ?? []).map((m) => JSON.parse(m.Body ?? "{}").event_id)).toEqual([bad.event_id]);
    expect(
      await count("SELECT count(*) AS n FROM processed_events WHERE event_id = $1", [bad.event_id]),
    ).toBe(0);
  });
});
