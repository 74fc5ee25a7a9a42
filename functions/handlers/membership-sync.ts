import middy from "@middy/core";
import { syncSlackMemberships } from "../core/slack/membership-sync";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { queues } from "../shared/wiring/queues";
import { slack as slackParts } from "../shared/wiring/slack";

/** Scheduled: Slack's member lists (conversations.members) onto the ingest queue; nothing without SLACK_BOT_TOKEN. */
export const handler = middy(async () => {
  const slack = slackParts().slackMembership;
  if (!slack) {
    logger.info("membership sync skipped: SLACK_BOT_TOKEN is not set");
    return { conversations: 0, members: 0 };
  }
  const result = await syncSlackMemberships({ slack, queue: queues().ingestQueue });
  logger.info("membership sync queued", result);
  return result;
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
