import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { verifySlackSignature } from "../core/slack/slack-signature";
import { acceptSlackRequest } from "../core/slack/slack-webhook";
import { container } from "../shared/container";
import { type HttpResult, httpErrorHandler, json, rawBodyBytes } from "../shared/http";
import { logger } from "../shared/logger";

/**
 * POST /slack/events: verify the signature over the raw bytes, answer url_verification, enqueue
 * each event_callback on the ingest queue (one SendMessage), ack. Nothing slower: Slack waits 3 s.
 */
async function slackEventsHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const c = container();
  const secret = c.config.SLACK_SIGNING_SECRET;
  if (!secret) {
    // Never accept unsigned: without a secret every request is refused, loudly.
    logger.error("SLACK_SIGNING_SECRET is not configured: refusing Slack request");
    return json(500, {
      error: { code: "not_configured", message: "Slack signing secret is not configured" },
    });
  }
  const body = rawBodyBytes(event);
  const headers = event.headers ?? {};
  const header = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const verdict = verifySlackSignature({
    signingSecret: secret,
    timestamp: header("x-slack-request-timestamp"),
    signature: header("x-slack-signature"),
    body,
  });
  if (!verdict.ok) {
    logger.warn("rejected Slack request", { reason: verdict.reason });
    return json(401, { error: { code: "invalid_signature", message: "Invalid or missing Slack signature" } });
  }
  const result = await acceptSlackRequest({ queue: c.ingestQueue }, body.toString("utf8"), {
    retryNum: header("x-slack-retry-num"),
    retryReason: header("x-slack-retry-reason"),
  });
  if (result.kind === "challenge") return json(200, { challenge: result.challenge });
  if (result.kind === "queued") logger.debug("queued Slack event", { eventId: result.eventId });
  return json(200, { ok: true });
}

export const handler = middy(slackEventsHandler).use(httpErrorHandler());
