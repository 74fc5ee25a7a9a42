import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { applyKeywordJobs } from "../core/index-worker";
import { withMentionsRendered } from "../core/slack/slack-mentions";
import { container } from "../shared/container";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJobBatch } from "../shared/sqs-batch";

/** Keyword queue -> current Postgres rows -> OpenSearch `_bulk`; failed records only are retried. */
export const handler = middy(async (event: SQSEvent) => {
  const deps = container();
  return processJobBatch(
    event,
    async (records) =>
      applyKeywordJobs(
        {
          store: deps.store,
          keywordIndex: deps.keywordIndex(),
          // Keyword-searchable as @alice / #general, not as <@U024BE7LH>.
          renderContent: (rows) => withMentionsRendered(deps.directory, rows),
          context: deps.indexContext,
        },
        records,
      ),
    "keyword-indexer",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
