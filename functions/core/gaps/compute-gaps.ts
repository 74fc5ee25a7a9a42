import { PermanentError } from "../errors";
import { DEFAULT_GAP_DEFINITION, type GapDefinition } from "./definition";
import { type DetectGapsOptions, detectGaps, type GapDetectionResult } from "./detect-gaps";
import { type GapDigestDeps, queueGapDigest } from "./gap-digest";
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

/** Where the scheduled computation's digest goes (GAPS_DIGEST_CHANNEL, a Slack bot token). */
export interface GapDigestSetting extends GapDigestDeps {
  readonly channel: string;
  readonly limit: number;
}

/**
 * The scheduled computation: the window's gaps, saved for GET /gaps; with a digest channel, the gaps
 * new since the previous run are queued for Slack first (gap-digest.ts). Queued before the run is
 * saved: a failed send fails the run and leaves them new for the next one (posted at least once). A
 * digest Slack would refuse (a PermanentError) is reported in `digestError` and the run is saved.
 */
export async function computeAndStoreGaps(
  ports: GapDetectionPorts,
  store: GapStore,
  opts: Omit<DetectGapsOptions, "window"> & {
    since?: Date;
    until?: Date;
    now?: Date;
    digest?: GapDigestSetting | undefined;
  },
): Promise<GapDetectionResult & { runId: number; digested: number; digestError?: string }> {
  const def = opts.definition ?? DEFAULT_GAP_DEFINITION;
  const window = await resolveWindow(ports.messages, opts, def, opts.now);
  const result = await detectGaps(ports, { ...opts, window });
  let digested = 0;
  let digestError: string | undefined;
  if (opts.digest) {
    const previousMessages = await store.latestRunMessageIds();
    try {
      const posted = await queueGapDigest(opts.digest, result.gaps, {
        channel: opts.digest.channel,
        limit: opts.digest.limit,
        previousMessages,
      });
      digested = posted.length;
    } catch (err) {
      if (!(err instanceof PermanentError)) throw err;
      digestError = err.message;
    }
  }
  const runId = await store.saveRun(
    { window, computedAt: opts.now ?? new Date(), gaps: result.gaps },
    result.stats,
  );
  return { ...result, runId, digested, ...(digestError ? { digestError } : {}) };
}
