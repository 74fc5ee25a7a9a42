import middy from "@middy/core";
import { syncSlackMemberships } from "../core/slack/membership-sync";
import { container } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/** Scheduled: Slack's member lists (conversations.members) onto the ingest queue; nothing without SLACK_BOT_TOKEN. */
export const handler = middy(async () => {
  const c = container();
  const slack = c.slackMembership;
  if (!slack) {
    logger.info("membership sync skipped: SLACK_BOT_TOKEN is not set");
    return { conversations: 0, members: 0 };
  }
  const result = await syncSlackMemberships({ slack, queue: c.ingestQueue });
  logger.info("membership sync queued", result);
  return result;
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
