import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { acceptSlashCommand, type SlashAck } from "../core/slack/slash-command";
import { type HttpResult, httpErrorHandler, json, rawBody } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { slackSignatureCheck } from "../shared/slack-verification";
import { queues } from "../shared/wiring/queues";
import { runtime } from "../shared/wiring/runtime";

/**
 * POST /slack/commands (`/trisearch <query>`): (signature checked by the middleware) parse the
 * form, queue the search, ack at once. The search and the reply run in their own functions.
 */
async function slackCommandsHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const { config } = runtime();
  const form = Object.fromEntries(new URLSearchParams(rawBody(event)));
  const ack: SlashAck = await acceptSlashCommand({ queue: queues().commandsQueue }, form, {
    allowedResponseUrlPrefix: config.SLACK_RESPONSE_URL_PREFIX,
    pageUrl: config.SEARCH_PAGE_URL,
  });
  return json(200, ack);
}

export const handler = middy(slackCommandsHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler())
  .use(slackSignatureCheck());
