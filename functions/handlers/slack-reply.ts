import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { deliverReply, replyJobSchema } from "../core/slack/reply-job";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJsonRecords } from "../shared/sqs-batch";
import { replies } from "../shared/wiring/replies";

/**
 * Replies queue -> Slack: a slash command's answer to its response_url (the one HTTP client:
 * timeout and retries), the gaps digest through chat.postMessage (the bot token). In AWS this
 * function alone posts to Slack from outside the VPC: it needs the internet and no store.
 */
export const handler = middy(async (event: SQSEvent) => {
  const ports = replies();
  return processJsonRecords(
    event,
    replyJobSchema,
    (job) => deliverReply({ responder: ports.slackResponder, poster: ports.channelPoster }, job),
    "slack-reply",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
