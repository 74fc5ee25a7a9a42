import type middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { verifySlackSignature } from "../core/slack/slack-signature";
import { type HttpResult, json, rawBodyBytes } from "./http";
import { logger } from "./logger";
import { runtime } from "./wiring/runtime";

/**
 * Slack's request signing for every Slack route (events, slash commands): the HMAC over the raw
 * bytes and a fresh timestamp, or the request ends here with 401. Without a configured secret
 * every request is refused (500 not_configured), never accepted unsigned.
 */
export function slackSignatureCheck(): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return { before: verifySlackRequest };
}

async function verifySlackRequest(
  request: middy.Request<APIGatewayProxyEventV2, HttpResult>,
): Promise<HttpResult | undefined> {
  const secret = runtime().config.SLACK_SIGNING_SECRET;
  if (!secret) {
    logger.error("SLACK_SIGNING_SECRET is not configured: refusing Slack request");
    return json(500, {
      error: { code: "not_configured", message: "Slack signing secret is not configured" },
    });
  }
  const headers = request.event.headers ?? {};
  const header = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const verdict = verifySlackSignature({
    signingSecret: secret,
    timestamp: header("x-slack-request-timestamp"),
    signature: header("x-slack-signature"),
    body: rawBodyBytes(request.event),
  });
  if (!verdict.ok) {
    logger.warn("rejected Slack request", { reason: verdict.reason, path: request.event.rawPath });
    return json(401, {
      error: { code: "invalid_signature", message: "Invalid or missing Slack signature" },
    });
  }
  return undefined;
}
