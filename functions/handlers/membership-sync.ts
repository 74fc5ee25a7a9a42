import middy from "@middy/core";
import { syncSlackDirectory, syncSlackMemberships } from "../core/slack/membership-sync";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { queues } from "../shared/wiring/queues";
import { slack as slackParts } from "../shared/wiring/slack";

/**
 * Scheduled: Slack's directory (users.list, conversations.list) and member lists
 * (conversations.members) onto the ingest queue; nothing without SLACK_BOT_TOKEN.
 */
export const handler = middy(async () => {
  const { slackDirectory, slackMembership } = slackParts();
  if (!slackDirectory || !slackMembership) {
    logger.info("membership sync skipped: SLACK_BOT_TOKEN is not set");
    return { conversations: 0, members: 0, directoryUsers: 0, directoryConversations: 0 };
  }
  const queue = queues().ingestQueue;
  // The directory first: the names of the people the member lists then name. Its conversation list
  // also names the member-listed conversations, so conversations.list is paged once per run.
  const directory = await syncSlackDirectory({ slack: slackDirectory, queue });
  const result = await syncSlackMemberships({
    slack: slackMembership,
    queue,
    conversations: directory.memberListed,
  });
  const summary = {
    ...result,
    directoryUsers: directory.users,
    directoryConversations: directory.conversations,
  };
  logger.info("membership sync queued", summary);
  return summary;
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
