import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { slackResponseMessageSchema } from "../../functions/core/slack/block-kit";
import { SLASH_HELP } from "../../functions/core/slack/slash-command";
import { sqsClient } from "../../functions/shared/clients";
import { loadConfig } from "../../functions/shared/config";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { queueDepth } from "../../local/stack/queues";
import {
  type DelayingProxy,
  type RecordingServer,
  startDelayingProxy,
  startRecordingServer,
} from "../helpers/http-stand-ins";
import { ingestAndWait, startTestApp, type TestApp } from "../helpers/local-app";
import { slackHeaders } from "../helpers/slack-fixtures";
import { waitUntil } from "../helpers/wait";

const SECRET = "slash-command-signing-secret-7d1e";
/** The BM25 leg's artificial delay: longer than Slack's 3-s budget on its own. */
const SLOW_LEG_MS = 4_000;

describe("/trisearch slash command: ack now, Block Kit to response_url later (real local stack)", () => {
  let t: TestApp;
  let slack: RecordingServer;
  let openSearch: DelayingProxy;

  const form = (fields: Record<string, string>) =>
    new URLSearchParams({
      command: "/trisearch",
      text: "OAuth",
      user_id: "U0VIEWER1",
      user_name: "alice",
      team_id: "T0TEAM001",
      team_domain: "acme",
      channel_id: "C0CHAN001",
      channel_name: "general",
      response_url: `${slack.url}/commands/T0TEAM001/1234/secret`,
      trigger_id: "1337.42.abcd",
      api_app_id: "A0APP0001",
      token: "deprecated-verification-token",
      ...fields,
    }).toString();
  const post = (body: string, headers = slackHeaders(SECRET, body)) =>
    t.request("POST", "/slack/commands", {
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body,
    });

  beforeAll(async () => {
    slack = await startRecordingServer();
    openSearch = await startDelayingProxy(loadConfig().OPENSEARCH_URL);
    t = await startTestApp("slash", {
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_RESPONSE_URL_PREFIX: `${slack.url}/`,
        OPENSEARCH_URL: openSearch.url,
      },
    });
    await ingestAndWait(t, DEMO_SOURCE, DEMO_MESSAGES);
  });
  afterAll(async () => {
    await t?.close();
    await openSearch?.close();
    await slack?.close();
  });
  beforeEach(() => {
    slack.requests.length = 0;
    slack.respondWith(() => ({ status: 200, body: "ok" }));
    openSearch.delayFor = () => 0;
  });

  it("acks a signed command within 3 s while the BM25 leg takes 4 s, then posts valid Block Kit to response_url", async () => {
    openSearch.delayFor = (_method, path) => (path.includes("/_search") ? SLOW_LEG_MS : 0);
    const started = Date.now();
    const ack = await post(form({ text: "OAuth token" }));
    const ackMs = Date.now() - started;
    expect(ack.status).toBe(200);
    expect(ack.body).toEqual({ response_type: "ephemeral", text: 'Searching for "OAuth token"…' });
    expect(ackMs).toBeLessThan(3_000);
    expect(slack.requests).toHaveLength(0);

    const [reply] = await waitUntil(
      "the reply at response_url",
      async () => (slack.requests.length > 0 ? slack.requests : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    // The search ran after the ack, in its own step: its slow leg came after the answer.
    expect(reply!.at - started).toBeGreaterThanOrEqual(SLOW_LEG_MS);
    expect(reply!.method).toBe("POST");
    expect(reply!.path).toBe("/commands/T0TEAM001/1234/secret");
    expect(reply!.headers["content-type"]).toMatch(/^application\/json/);
    const message = slackResponseMessageSchema.parse(JSON.parse(reply!.body));
    expect(message.response_type).toBe("ephemeral");
    const sections = (message.blocks ?? []).filter((b) => b.type === "section");
    const hits = sections.slice(1);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(5);
    const oauthAuthors = new Set(DEMO_MESSAGES.filter((m) => /oauth/i.test(m.content)).map((m) => m.author));
    const first = hits[0]!.type === "section" ? (hits[0]!.text?.text ?? "") : "";
    // author, channel, time, snippet
    expect([...oauthAuthors].some((a) => first.includes(`*${a}*`))).toBe(true);
    expect(first).toMatch(/ in \*#[a-z-]+\* · <!date\^\d+\^/);
    expect(first.toLowerCase()).toContain("oauth");
    const more = message.blocks?.find((b) => b.type === "actions");
    expect(more?.type === "actions" && more.elements[0]?.url).toBe(`${t.app.url}/?q=OAuth+token`);
  }, 90_000);

  it("rejects a forged signature with 401 and queues nothing", async () => {
    const body = form({ text: "forged" });
    const before = t.app.pollers.commands.counters.received;
    const forged = await post(body, slackHeaders("not-the-secret", body));
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ error: { code: "invalid_signature" } });
    const tampered = await post(body.replace("forged", "tampered"), slackHeaders(SECRET, body));
    expect(tampered.status).toBe(401);
    const unsigned = await post(body, {});
    expect(unsigned.status).toBe(401);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t.app.pollers.commands.counters.received).toBe(before);
    expect(await queueDepth(sqsClient(t.config), t.queues.commands.url)).toBe(0);
    expect(slack.requests).toHaveLength(0);
  });

  it("answers help for an empty query and a 400 naming response_url outside Slack's hooks", async () => {
    const empty = await post(form({ text: "   " }));
    expect(empty).toMatchObject({ status: 200, body: { response_type: "ephemeral", text: SLASH_HELP } });
    const elsewhere = await post(form({ response_url: "https://attacker.example.com/hook" }));
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body).toMatchObject({ error: { details: [{ path: "response_url" }] } });
    const missing = await post(new URLSearchParams({ command: "/trisearch", text: "x" }).toString());
    expect(missing.status).toBe(400);
    const paths = (missing.body as { error: { details: { path: string }[] } }).error.details.map(
      (d) => d.path,
    );
    expect(paths).toEqual(expect.arrayContaining(["user_id", "team_id", "channel_id", "response_url"]));
  });

  it("retries response_url through its HTTP client: two 503s, then the reply lands", async () => {
    slack.respondWith((_req, i) => (i < 2 ? { status: 503, body: "busy" } : { status: 200, body: "ok" }));
    expect((await post(form({ text: "deploy" }))).status).toBe(200);
    await waitUntil("three attempts", async () => slack.requests.length >= 3, { timeoutMs: 30_000 });
    const bodies = slack.requests.map((r) => r.body);
    expect(new Set(bodies).size).toBe(1);
    slackResponseMessageSchema.parse(JSON.parse(bodies[0]!));
  });
});
