import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type middy from "@middy/core";
import { driftTotal, type ReconcileReport } from "../core/reconcile";
import { logger } from "./logger";

/**
 * CloudWatch metrics through Powertools (Embedded Metric Format: one JSON line on stdout that
 * CloudWatch Logs turns into metrics), flushed per invocation by the `invocationMetrics` middleware.
 * Powertools' own notices go to a child logger at ERROR: most invocations record no metric, and
 * Powertools would warn about that on every one of them.
 */
export const metrics = new Metrics({
  namespace: "Trisearch",
  serviceName: "trisearch",
  logger: logger.createChild({ logLevel: "ERROR" }),
});

/**
 * A reconcile run's drift and repairs, the schedule's health (drift should stay near zero). Dry
 * runs are operator checks and record nothing. Used after `invocationMetrics`, which flushes them.
 */
export function reconcileMetrics(): middy.MiddlewareObj<unknown, ReconcileReport> {
  return { after: recordReconcileRun };
}

function recordReconcileRun(request: middy.Request<unknown, ReconcileReport>): void {
  const report = request.response;
  if (!report || report.dryRun) return;
  const { keyword: k, vector: v } = report;
  metrics.addDimension("Function", "reconcile");
  const counts: Record<string, number> = {
    KeywordMissing: k.missing,
    KeywordStale: k.stale,
    KeywordOrphan: k.orphan,
    VectorMissing: v.missing,
    VectorStale: v.stale,
    VectorOrphan: v.orphan,
    Repaired: k.enqueued + v.enqueued + k.removed + v.removed,
    Drift: driftTotal(report),
    PagesRead: report.pagesRead,
  };
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.addMetric("DurationMs", MetricUnit.Milliseconds, report.durationMs);
}
