import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { ingestSlackRecords } from "../core/slack/slack-ingest";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { retryRecords } from "../shared/sqs-batch";
import { postgres } from "../shared/wiring/postgres";
import { queues } from "../shared/wiring/queues";
import { runtime } from "../shared/wiring/runtime";
import { slack } from "../shared/wiring/slack";

/** Ingest queue -> Slack events -> the POST /messages write path; failed records only are retried. */
export const handler = middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const pg = postgres();
  const { config, warn } = runtime();
  const { directoryLookup } = slack();
  const result = await ingestSlackRecords(
    {
      store: pg.store,
      outbox: pg.store,
      publisher: queues().publisher,
      directory: pg.directory,
      access: pg.access,
      ...(directoryLookup ? { lookup: directoryLookup } : {}),
      warn,
    },
    event.Records.map((r) => ({ recordId: r.messageId, body: r.body })),
    { sourceName: config.SLACK_SOURCE_NAME, storeBots: config.SLACK_STORE_BOTS },
  );
  logger.info("slack ingest batch", { records: event.Records.length, counts: result.counts });
  if (result.errors.length > 0) logger.warn("slack events failed", { errors: result.errors.slice(0, 20) });
  return retryRecords(result.failedRecordIds);
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
