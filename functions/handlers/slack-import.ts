import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { parseImportMessage, runImportJob } from "../core/slack/slack-import-job";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processRecords } from "../shared/sqs-batch";
import { importJobDeps, imports } from "../shared/wiring/imports";
import { postgres } from "../shared/wiring/postgres";
import { queues } from "../shared/wiring/queues";
import { runtime } from "../shared/wiring/runtime";

/**
 * Import queue -> a Slack export uploaded to the import bucket -> the importer. A run that nears
 * the function's deadline stops between day files and queues its own continuation.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const rt = runtime();
  const deps = importJobDeps({ pg: postgres(), queues: queues(), imports: imports(), runtime: rt }, () =>
    context.getRemainingTimeInMillis(),
  );
  const options = {
    sourceName: rt.config.SLACK_SOURCE_NAME,
    storeBots: rt.config.SLACK_STORE_BOTS,
    workspaceDomain: rt.config.SLACK_WORKSPACE_DOMAIN,
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
