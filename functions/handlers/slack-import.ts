import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { toAppError } from "../core/errors";
import { parseImportMessage, runImportJob } from "../core/slack/slack-import-job";
import { container, importJobDeps } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/**
 * Import queue -> a Slack export uploaded to the import bucket -> the importer. A run that nears
 * the function's deadline stops between day files and queues its own continuation.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const c = container();
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      for (const object of parseImportMessage(record.body)) {
        const report = await runImportJob(
          importJobDeps(c, () => context.getRemainingTimeInMillis()),
          object,
          {
            sourceName: c.config.SLACK_SOURCE_NAME,
            storeBots: c.config.SLACK_STORE_BOTS,
            workspaceDomain: c.config.SLACK_WORKSPACE_DOMAIN,
          },
        );
        const { failures: failed, damagedFiles, ...counts } = report;
        logger.info("slack export import", {
          object,
          ...counts,
          damagedFiles,
          failedSample: failed.slice(0, 20),
        });
      }
    } catch (err) {
      logger.error("slack export import failed", { error: toAppError(err) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
