import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { slashReplyJobSchema } from "../core/slack/slash-command";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJsonRecords } from "../shared/sqs-batch";
import { replies } from "../shared/wiring/replies";

/**
 * Replies queue -> POST to Slack's response_url (the one HTTP client: timeout and retries). In AWS
 * this function alone runs outside the VPC: it needs the internet and no store.
 */
export const handler = middy(async (event: SQSEvent) => {
  const responder = replies().slackResponder;
  return processJsonRecords(
    event,
    slashReplyJobSchema,
    (job) => responder.post(job.response_url, job.message),
    "slack-reply",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
