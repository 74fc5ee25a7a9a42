/**
 * CloudWatch Embedded Metric Format without a dependency (@aws-lambda-powertools/metrics is not
 * installed): the returned fields, merged into one JSON log line, are both the structured log and
 * the metrics — CloudWatch Logs extracts every name listed under `_aws` as a metric.
 */
export type MetricUnit = "Count" | "Milliseconds" | "None";

export function emfFields(
  namespace: string,
  dimensions: Record<string, string>,
  metrics: Record<string, { value: number; unit: MetricUnit }>,
  timestamp: number = Date.now(),
): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.entries(metrics).map(([Name, m]) => ({ Name, Unit: m.unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries(Object.entries(metrics).map(([name, m]) => [name, m.value])),
  };
}
