import middy from "@middy/core";
import type { SQSEvent } from "aws-lambda";
import { applyVectorJobs } from "../core/index-worker";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { processJobBatch } from "../shared/sqs-batch";
import { postgres } from "../shared/wiring/postgres";
import { vectors } from "../shared/wiring/vectors";

/** Vector queue -> current Postgres rows -> Embedder -> Chroma; failed records only are retried. */
export const handler = middy(async (event: SQSEvent) => {
  const pg = postgres();
  const v = vectors();
  return processJobBatch(
    event,
    async (records) =>
      applyVectorJobs(
        // The configured model's collection (not the active one while a model switch is under way).
        {
          store: pg.store,
          vectorIndex: await v.collections.writeIndex(),
          embedder: v.embedder,
          context: pg.indexContext,
        },
        records,
      ),
    "embedder",
  );
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
