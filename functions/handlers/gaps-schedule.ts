import middy from "@middy/core";
import { computeAndStoreGaps } from "../core/gaps/compute-gaps";
import { container } from "../shared/container";
import { gapDefinition, gapDetectionPorts, gapDigest } from "../shared/gaps";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/**
 * Scheduled (EventBridge rule, the local runtime's timer): the window's gaps into PostgreSQL for GET
 * /gaps, and with GAPS_DIGEST_CHANNEL the new ones onto the replies queue for Slack.
 */
export const handler = middy(async () => {
  const c = container();
  const result = await computeAndStoreGaps(await gapDetectionPorts(c), c.gapStore, {
    definition: gapDefinition(c.config),
    digest: gapDigest(c),
  });
  if (result.digestError) logger.error("gap digest not queued", { error: result.digestError });
  logger.info("coordination gaps computed", {
    runId: result.runId,
    gaps: result.gaps.length,
    digested: result.digested,
    messages: result.stats.messages,
    totalMs: result.stats.timingsMs.total,
  });
  return { runId: result.runId, gaps: result.gaps.length, digested: result.digested, stats: result.stats };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
