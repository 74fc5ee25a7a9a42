import { DEFAULT_GAP_DEFINITION, type GapDefinition } from "./definition";
import { type DetectGapsOptions, detectGaps, type GapDetectionResult } from "./detect-gaps";
import type { GapDetectionPorts, GapStore, GapWindow, WindowMessageSource } from "./ports";

const DAY_MS = 86_400_000;

/**
 * The window to read: `until` defaults to the newest message (a quiet workspace, or the demo set,
 * still has a window; in a live one that is about now) and never lies after `now`; `since`
 * defaults to `windowDays` before `until`. The end is exclusive, so the newest message is inside.
 */
export async function resolveWindow(
  source: WindowMessageSource,
  requested: { since?: Date; until?: Date },
  def: GapDefinition = DEFAULT_GAP_DEFINITION,
  now: Date = new Date(),
): Promise<GapWindow> {
  let until = requested.until;
  if (!until) {
    const newest = await source.newestMessageAt();
    until = new Date(Math.min(now.getTime(), newest ? newest.getTime() + 1 : now.getTime()));
  }
  const since = requested.since ?? new Date(until.getTime() - def.windowDays * DAY_MS);
  return { since, until };
}

/** The scheduled computation: the window's gaps, saved for GET /gaps. */
export async function computeAndStoreGaps(
  ports: GapDetectionPorts,
  store: GapStore,
  opts: Omit<DetectGapsOptions, "window"> & { since?: Date; until?: Date; now?: Date },
): Promise<GapDetectionResult & { runId: number }> {
  const def = opts.definition ?? DEFAULT_GAP_DEFINITION;
  const window = await resolveWindow(ports.messages, opts, def, opts.now);
  const result = await detectGaps(ports, { ...opts, window });
  const runId = await store.saveRun(
    { window, computedAt: opts.now ?? new Date(), gaps: result.gaps },
    result.stats,
  );
  return { ...result, runId };
}
