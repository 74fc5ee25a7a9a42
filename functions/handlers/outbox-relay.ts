import middy from "@middy/core";
import { relayOutbox } from "../core/outbox-relay";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { postgres } from "../shared/wiring/postgres";
import { queues } from "../shared/wiring/queues";

/** Scheduled: publishes outbox rows the after-commit fast path could not (SQS down, partial batch). */
export const handler = middy(async () => {
  const report = await relayOutbox({ outbox: postgres().store, publisher: queues().publisher });
  if (report.sent + report.failed > 0) logger.info("outbox relay", { ...report });
  return report;
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
