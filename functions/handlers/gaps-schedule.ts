import middy from "@middy/core";
import { computeAndStoreGaps } from "../core/gaps/compute-gaps";
import { container } from "../shared/container";
import { gapDefinition, gapDetectionPorts } from "../shared/gaps";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/** Scheduled (EventBridge rule, the local runtime's timer): the window's gaps into PostgreSQL for GET /gaps. */
export const handler = middy(async () => {
  const c = container();
  const result = await computeAndStoreGaps(await gapDetectionPorts(c), c.gapStore, {
    definition: gapDefinition(c.config),
  });
  logger.info("coordination gaps computed", {
    runId: result.runId,
    gaps: result.gaps.length,
    messages: result.stats.messages,
    totalMs: result.stats.timingsMs.total,
  });
  return { runId: result.runId, gaps: result.gaps.length, stats: result.stats };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
