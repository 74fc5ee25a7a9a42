import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseImportMessage, runImportJob } from "../core/slack/slack-import-job";
import { container, importJobDeps } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processRecords } from "../shared/sqs-batch";

/**
 * Import queue -> a Slack export uploaded to the import bucket -> the importer. A run that nears
 * the function's deadline stops between day files and queues its own continuation.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const c = container();
  const deps = importJobDeps(c, () => context.getRemainingTimeInMillis());
  const options = {
    sourceName: c.config.SLACK_SOURCE_NAME,
    storeBots: c.config.SLACK_STORE_BOTS,
    workspaceDomain: c.config.SLACK_WORKSPACE_DOMAIN,
  };
  return processRecords(
    event,
    async (body) => {
      for (const object of parseImportMessage(body)) {
        const { failures, damagedFiles, ...counts } = await runImportJob(deps, object, options);
        logger.info("slack export import", {
          object,
          ...counts,
          damagedFiles,
          failedSample: failures.slice(0, 20),
        });
      }
    },
    "slack-import",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
