import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { applyVectorJobs } from "../core/index-worker";
import { container } from "../shared/container";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJobBatch } from "../shared/sqs-batch";

/** Vector queue -> current Postgres rows -> Embedder -> Chroma; failed records only are retried. */
export const handler = middy(async (event: SQSEvent) => {
  const deps = container();
  return processJobBatch(
    event,
    async (records) =>
      applyVectorJobs(
        // The configured model's collection (not the active one while a model switch is under way).
        {
          store: deps.store,
          vectorIndex: await deps.collections.writeIndex(),
          embedder: deps.embedder,
          context: deps.indexContext,
        },
        records,
      ),
    "embedder",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
