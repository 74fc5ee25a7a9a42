import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { slackPermalink } from "../core/slack/slack-permalink";
import { answerSlashCommand, slashSearchJobSchema } from "../core/slack/slash-command";
import { container } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { searchService } from "../shared/search-service";
import { processJsonRecords } from "../shared/sqs-batch";

/** Commands queue -> search as the invoking user -> the Block Kit reply on the replies queue. */
export const handler = middy(async (event: SQSEvent) => {
  const c = container();
  return processJsonRecords(
    event,
    slashSearchJobSchema,
    async (job) => {
      const message = await answerSlashCommand(
        {
          search: searchService(c),
          replies: c.repliesQueue,
          cursorKey: c.cursorKey,
          permalink: (m) => slackPermalink(m, c.config.SLACK_WORKSPACE_DOMAIN),
          onSearchFailure: (err) =>
            logger.error("slash command search failed", { code: err.code, error: err }),
        },
        job,
      );
      logger.info("slash command answered", {
        viewer: job.user_id,
        team: job.team_id,
        blocks: message.blocks?.length ?? 0,
      });
    },
    "slack-command-search",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
