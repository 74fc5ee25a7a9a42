import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { acceptSlackRequest } from "../core/slack/slack-webhook";
import type { SlackEventsResponse } from "../shared/api-schemas";
import { type HttpResult, httpErrorHandler, json, rawBody } from "../shared/http";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { slackSignatureCheck } from "../shared/slack-verification";
import { queues } from "../shared/wiring/queues";

/**
 * POST /slack/events: (signature checked by the middleware) answer url_verification, enqueue each
 * event_callback on the ingest queue (one SendMessage), ack. Nothing slower: Slack waits 3 s.
 */
async function slackEventsHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const headers = event.headers ?? {};
  const result = await acceptSlackRequest({ queue: queues().ingestQueue }, rawBody(event), {
    retryNum: headers["x-slack-retry-num"],
    retryReason: headers["x-slack-retry-reason"],
  });
  if (result.kind === "queued") logger.debug("queued Slack event", { eventId: result.eventId });
  const answer: SlackEventsResponse =
    result.kind === "challenge" ? { challenge: result.challenge } : { ok: true };
  return json(200, answer);
}

export const handler = middy(slackEventsHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler())
  .use(slackSignatureCheck());
