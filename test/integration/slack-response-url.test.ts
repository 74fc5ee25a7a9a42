import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HttpSlackResponder } from "../../functions/adapters/slack/slack-response-url";
import { PermanentError, RetryableError } from "../../functions/core/errors";
import { type RecordingServer, startRecordingServer } from "../helpers/http-stand-ins";

/** The response_url client against a local stand-in: timeouts, retries, and what is not retried. */
describe("HttpSlackResponder", () => {
  let slack: RecordingServer;
  const responder = new HttpSlackResponder({ timeoutMs: 300, retries: 2, backoffLimitMs: 50 });
  const message = { response_type: "ephemeral" as const, text: "hi" };

  beforeAll(async () => {
    slack = await startRecordingServer();
  });
  afterAll(async () => slack?.close());
  beforeEach(() => {
    slack.requests.length = 0;
  });

  it("posts the message as JSON", async () => {
    slack.respondWith(() => ({ status: 200, body: "ok" }));
    await responder.post(`${slack.url}/hook`, message);
    expect(slack.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      ["POST", "/hook", message],
    ]);
  });

  it("retries a timed-out attempt and then succeeds", async () => {
    slack.respondWith((_r, i) => (i === 0 ? { status: 200, delayMs: 1_000 } : { status: 200, body: "ok" }));
    await responder.post(`${slack.url}/hook`, message);
    expect(slack.requests).toHaveLength(2);
  });

  it("gives up after its retries with a retryable error (the queue redelivers)", async () => {
    slack.respondWith(() => ({ status: 500, body: "boom" }));
    await expect(responder.post(`${slack.url}/hook`, message)).rejects.toBeInstanceOf(RetryableError);
    expect(slack.requests).toHaveLength(3);
  });

  it("does not retry what Slack refuses for good (404 expired_url)", async () => {
    slack.respondWith(() => ({ status: 404, body: "expired_url" }));
    const err = await responder.post(`${slack.url}/hook`, message).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain("expired_url");
    expect(slack.requests).toHaveLength(1);
  });
});
