import { type ReadAccess, resolveScope, type VisibilityReader } from "../access/access";
import { visibleGaps } from "../access/visible-gaps";
import { type GapsRequest, MAX_GAPS_READ } from "./gaps-request";
import type { GapStore, StoredGapRun } from "./ports";

/**
 * GET /gaps: the latest scheduled computation's gaps active in [since, until) with a side in one of
 * the channels, and only those the reader may see (every side in their scope). A duration
 * (`since=7d`) counts back from the requested end, or from the end of the computed window. Null
 * when nothing was computed yet.
 */
export async function readGaps(
  deps: { readonly store: Pick<GapStore, "latestRun">; readonly visibility: VisibilityReader },
  request: GapsRequest,
  access: ReadAccess,
): Promise<StoredGapRun | null> {
  const scope = await resolveScope(deps.visibility, access);
  const latest = await deps.store.latestRun({ limit: 0 });
  if (!latest) return null;
  const until = request.until ?? latest.window.until;
  const since =
    request.since ??
    (request.sinceMs !== undefined ? new Date(until.getTime() - request.sinceMs) : undefined);
  const run = await deps.store.latestRun({
    ...(since ? { since } : {}),
    ...(request.until ? { until: request.until } : {}),
    channels: request.channels,
    // A viewer's scope drops gaps after the read: read the most, then cut to the limit.
    limit: scope ? MAX_GAPS_READ : request.limit,
  });
  return run && { ...run, gaps: visibleGaps(run.gaps, scope).slice(0, request.limit) };
}
