import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { slackSignature, verifySlackSignature } from "../../../functions/core/slack/slack-signature";
import { loadConfig, setConfig } from "../../../functions/shared/config";
import { createContainer, setContainer } from "../../../functions/shared/container";
import { signingExample } from "../../helpers/slack-fixtures";

const ex = signingExample();
const NOW = Number(ex.timestamp);
const verify = (over: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) =>
  verifySlackSignature({
    signingSecret: ex.signingSecret,
    timestamp: ex.timestamp,
    signature: ex.signature,
    body: ex.body,
    nowSeconds: NOW,
    ...over,
  });

describe("verifySlackSignature", () => {
  it("verifies Slack's documented example (clock pinned to its timestamp)", () => {
    expect(slackSignature(ex.signingSecret, ex.timestamp, ex.body)).toBe(ex.signature);
    expect(verify()).toEqual({ ok: true });
    expect(verify({ body: Buffer.from(ex.body, "utf8") })).toEqual({ ok: true });
  });

  it("rejects a body changed by one byte, anywhere", () => {
    for (const i of [0, Math.floor(ex.body.length / 2), ex.body.length - 1]) {
      const bytes = Buffer.from(ex.body, "utf8");
      bytes[i] = bytes[i]! ^ 0x01;
      expect(verify({ body: bytes })).toEqual({ ok: false, reason: "signature_mismatch" });
    }
    expect(verify({ body: `${ex.body} ` })).toEqual({ ok: false, reason: "signature_mismatch" });
  });

  it("accepts 300 s of skew either way and rejects 301 s (old or in the future)", () => {
    expect(verify({ nowSeconds: NOW + 300 }).ok).toBe(true);
    expect(verify({ nowSeconds: NOW - 300 }).ok).toBe(true);
    expect(verify({ nowSeconds: NOW + 301 })).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(verify({ nowSeconds: NOW - 301 })).toEqual({ ok: false, reason: "stale_timestamp" });
  });

  it("rejects a wrong secret and a signature made for another timestamp", () => {
    expect(verify({ signingSecret: "another-secret" })).toEqual({ ok: false, reason: "signature_mismatch" });
    const otherTs = String(NOW - 10);
    expect(verify({ timestamp: otherTs })).toEqual({ ok: false, reason: "signature_mismatch" });
  });

  it("rejects missing or malformed headers and short/long signatures without throwing", () => {
    expect(verify({ timestamp: undefined })).toEqual({ ok: false, reason: "missing_timestamp" });
    expect(verify({ timestamp: "" })).toEqual({ ok: false, reason: "missing_timestamp" });
    expect(verify({ timestamp: "1531420618.5" })).toEqual({ ok: false, reason: "bad_timestamp" });
    expect(verify({ timestamp: "-1531420618" })).toEqual({ ok: false, reason: "bad_timestamp" });
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: "missing_signature" });
    expect(verify({ signature: ex.signature.slice(0, -1) })).toEqual({
      ok: false,
      reason: "bad_signature_format",
    });
    expect(verify({ signature: "v0=" })).toEqual({ ok: false, reason: "bad_signature_format" });
    expect(verify({ signature: `${ex.signature}00` })).toEqual({ ok: false, reason: "bad_signature_format" });
    expect(verify({ signature: ex.signature.replace("v0=", "v1=") })).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
    // Same length, multi-byte characters: still a clean rejection, not a timingSafeEqual throw.
    expect(verify({ signature: "é".repeat(ex.signature.length) }).ok).toBe(false);
  });
});

describe("POST /slack/events handler (no services: a rejected or non-event request never reaches SQS)", () => {
  afterEach(() => {
    vi.useRealTimers();
    setContainer(undefined);
  });

  const context = {} as Context;
  const event = (body: string, headers: Record<string, string>, base64 = false): APIGatewayProxyEventV2 =>
    ({
      version: "2.0",
      routeKey: "POST /slack/events",
      rawPath: "/slack/events",
      rawQueryString: "",
      headers,
      requestContext: { http: { method: "POST", path: "/slack/events" } },
      body: base64 ? Buffer.from(body, "utf8").toString("base64") : body,
      isBase64Encoded: base64,
    }) as unknown as APIGatewayProxyEventV2;

  async function call(e: APIGatewayProxyEventV2, secret: string | null = ex.signingSecret) {
    const cfg = loadConfig({ ...(secret ? { SLACK_SIGNING_SECRET: secret } : {}), LOG_LEVEL: "SILENT" });
    setConfig(cfg);
    setContainer(createContainer(cfg));
    const { handler } = await import("../../../functions/handlers/slack-events");
    return (await handler(e, context)) as { statusCode: number; body: string };
  }

  it("the documented example passes verification (then 400: a slash command is not an Events API payload)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW * 1000);
    const headers = { "x-slack-request-timestamp": ex.timestamp, "x-slack-signature": ex.signature };
    expect((await call(event(ex.body, headers))).statusCode).toBe(400);
    expect((await call(event(ex.body, headers, true))).statusCode).toBe(400);
    expect((await call(event(`${ex.body}x`, headers))).statusCode).toBe(401);
    vi.setSystemTime((NOW + 301) * 1000);
    expect((await call(event(ex.body, headers))).statusCode).toBe(401);
  });

  it("401 for missing headers; 500 (never an accept) when no signing secret is configured", async () => {
    const res = await call(event("{}", {}));
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "invalid_signature" } });
    const ts = String(Math.floor(Date.now() / 1000));
    const unsigned = await call(
      event("{}", { "x-slack-request-timestamp": ts, "x-slack-signature": slackSignature("x", ts, "{}") }),
      null,
    );
    expect(unsigned.statusCode).toBe(500);
    expect(JSON.parse(unsigned.body)).toMatchObject({ error: { code: "not_configured" } });
  });

  it("answers a signed url_verification with its challenge", async () => {
    const body = JSON.stringify({ token: "t", challenge: "abc123", type: "url_verification" });
    const res = await call(event(body, { ...signed(body) }));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ challenge: "abc123" });
  });

  const signed = (body: string) => {
    const ts = String(Math.floor(Date.now() / 1000));
    return {
      "x-slack-request-timestamp": ts,
      "x-slack-signature": slackSignature(ex.signingSecret, ts, body),
    };
  };
});
