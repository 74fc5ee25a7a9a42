import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { applyKeywordJobs } from "../core/index-worker";
import { withMentionsRendered } from "../core/slack/slack-mentions";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJobBatch } from "../shared/sqs-batch";
import { keyword } from "../shared/wiring/keyword";
import { postgres } from "../shared/wiring/postgres";

/** Keyword queue -> current Postgres rows -> OpenSearch `_bulk`; failed records only are retried. */
export const handler = middy(async (event: SQSEvent) => {
  const pg = postgres();
  return processJobBatch(
    event,
    async (records) =>
      applyKeywordJobs(
        {
          store: pg.store,
          keywordIndex: keyword().keywordIndex(),
          // Keyword-searchable as @alice / #general, not as <@U024BE7LH>.
          renderContent: (rows) => withMentionsRendered(pg.directory, rows),
          context: pg.indexContext,
        },
        records,
      ),
    "keyword-indexer",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
