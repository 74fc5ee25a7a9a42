import middy from "@middy/core";
import { relayOutbox } from "../core/outbox-relay";
import { container } from "../shared/container";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/** Scheduled: publishes outbox rows the after-commit fast path could not (SQS down, partial batch). */
export const handler = middy(async () => {
  const deps = container();
  const report = await relayOutbox({ outbox: deps.store, publisher: deps.publisher });
  if (report.sent + report.failed > 0) logger.info("outbox relay", { ...report });
  return report;
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
