import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { ingestSlackRecords } from "../core/slack/slack-ingest";
import { container } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { retryRecords } from "../shared/sqs-batch";

/** Ingest queue -> Slack events -> the POST /messages write path; failed records only are retried. */
export const handler = middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const c = container();
  const result = await ingestSlackRecords(
    {
      store: c.store,
      outbox: c.store,
      publisher: c.publisher,
      directory: c.directory,
      access: c.access,
      ...(c.directoryLookup ? { lookup: c.directoryLookup } : {}),
      warn: c.warn,
    },
    event.Records.map((r) => ({ recordId: r.messageId, body: r.body })),
    { sourceName: c.config.SLACK_SOURCE_NAME, storeBots: c.config.SLACK_STORE_BOTS },
  );
  logger.info("slack ingest batch", { records: event.Records.length, counts: result.counts });
  if (result.errors.length > 0) logger.warn("slack events failed", { errors: result.errors.slice(0, 20) });
  return retryRecords(result.failedRecordIds);
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
