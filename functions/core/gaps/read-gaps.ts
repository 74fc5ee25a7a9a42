import type { GapsRequest } from "./gaps-request";
import type { GapStore, StoredGapRun } from "./ports";

/**
 * GET /gaps: the latest scheduled computation's gaps active in [since, until) with a side in one of
 * the channels. A duration (`since=7d`) counts back from the requested end, or from the end of the
 * computed window. Null when nothing was computed yet.
 */
export async function readGaps(
  store: Pick<GapStore, "latestRun">,
  request: GapsRequest,
): Promise<StoredGapRun | null> {
  const latest = await store.latestRun({ limit: 0 });
  if (!latest) return null;
  const until = request.until ?? latest.window.until;
  const since =
    request.since ??
    (request.sinceMs !== undefined ? new Date(until.getTime() - request.sinceMs) : undefined);
  return store.latestRun({
    ...(since ? { since } : {}),
    ...(request.until ? { until: request.until } : {}),
    channels: request.channels,
    limit: request.limit,
  });
}
