import { ValidationError } from "../../functions/core/errors";
import { computeAndStoreGaps, resolveWindow } from "../../functions/core/gaps/compute-gaps";
import { detectGaps, selectGaps } from "../../functions/core/gaps/detect-gaps";
import type { CoordinationGap } from "../../functions/core/gaps/gap";
import { parseGapsRequest } from "../../functions/core/gaps/gaps-request";
import { closeClients } from "../../functions/shared/clients";
import { createContainer } from "../../functions/shared/container";
import { gapDefinition, gapDetectionPorts, gapJson } from "../../functions/shared/gaps";
import { parseFlags } from "../args";
import { formatTable } from "../progress";

export const summary = "Coordination gaps: one topic in separate conversations whose people are not talking";

const HELP = `Usage: trisearch gaps [--since 7d] [--until DATE] [--channel C]... [--limit N] [--save] [--json]

Computes the coordination gaps of a window now (the same use case the schedule runs) and prints
them, strongest first, with each side's people and representative messages.

  --since     window start: an ISO date/date-time, or a length before its end (30m, 48h, 7d, 2w);
              default GAPS_WINDOW_DAYS (7) days
  --until     window end (default: the newest message, so a quiet workspace still has a window)
  --channel   only gaps with a side in this channel (repeatable or comma-separated)
  --limit     most gaps shown (default 20)
  --save      also store the run, as the schedule does (GET /gaps reads the latest)
  --json      the API's JSON instead of the table`;

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {
      since: { type: "string" },
      until: { type: "string" },
      channel: { type: "string", multiple: true },
      limit: { type: "string" },
      save: { type: "boolean" },
      json: { type: "boolean" },
    },
    HELP,
  );
  if (!flags) return 0;
  const v = flags.values as Record<string, string | string[] | boolean | undefined>;
  let request: ReturnType<typeof parseGapsRequest>;
  try {
    request = parseGapsRequest({
      ...(v.since !== undefined ? { since: v.since } : {}),
      ...(v.until !== undefined ? { until: v.until } : {}),
      ...(v.channel !== undefined ? { channel: v.channel } : {}),
      ...(v.limit !== undefined ? { limit: v.limit } : {}),
    });
  } catch (err) {
    if (err instanceof ValidationError) {
      console.error(err.details.map((d) => `--${d.path}: ${d.message}`).join("\n"));
      return 2;
    }
    throw err;
  }
  try {
    const c = createContainer();
    const def = gapDefinition(c.config);
    const ports = await gapDetectionPorts(c);
    const window = await resolveWindow(
      ports.messages,
      { ...(request.until ? { until: request.until } : {}) },
      def,
    );
    const since =
      request.since ??
      (request.sinceMs !== undefined ? new Date(window.until.getTime() - request.sinceMs) : window.since);
    const opts = { definition: def, channels: request.channels, limit: request.limit };
    // A saved run is what GET /gaps and the next digest read: all of the window's gaps, the
    // --channel / --limit selection applied to the printout only.
    const result = v.save
      ? await computeAndStoreGaps(ports, c.gapStore, { definition: def, since, until: window.until })
      : await detectGaps(ports, { ...opts, window: { since, until: window.until } });
    const gaps = v.save ? selectGaps(result.gaps, request.channels, request.limit) : result.gaps;
    if (v.json) {
      console.log(
        JSON.stringify({ window: result.window, stats: result.stats, gaps: gaps.map(gapJson) }, null, 2),
      );
      return 0;
    }
    console.log(printGaps(gaps, result.window, result.stats.messages, result.stats.timingsMs.total));
    return 0;
  } finally {
    await closeClients();
  }
}

const day = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");

/** The readable form: one table row per gap, then each gap's sides with their people and messages. */
export function printGaps(
  gaps: readonly CoordinationGap[],
  window: { since: Date; until: Date },
  messages: number,
  ms: number,
): string {
  const head = `Window ${day(window.since)} .. ${day(window.until)} UTC: ${messages} messages, ${gaps.length} coordination gap(s) (${(ms / 1000).toFixed(1)} s)`;
  if (gaps.length === 0) return head;
  const table = formatTable(
    gaps.map((g, i) => ({
      "#": i + 1,
      topic: g.label,
      sides: g.sides.map((s) => `${s.conversations.join("+")} (${s.people.length})`).join(" | "),
      msgs: g.score.messages,
      sim: g.score.similarity.toFixed(2),
      overlap: g.score.participantOverlap.toFixed(2),
      score: g.score.value.toFixed(3),
      last: day(g.lastAt),
    })),
  );
  const details = gaps.map((g, i) =>
    [
      `#${i + 1} ${g.label}  (${day(g.firstAt)} .. ${day(g.lastAt)})`,
      ...g.sides.flatMap((s) => [
        `  ${s.conversations.join(", ")}: ${s.people.join(", ")} (${s.messageCount} messages)`,
        ...s.representatives.map(
          (m) => `    - ${m.author}: ${truncate(m.content, 100)}${m.permalink ? ` <${m.permalink}>` : ""}`,
        ),
      ]),
    ].join("\n"),
  );
  return [head, "", table, "", ...details].join("\n");
}

function truncate(text: string, n: number): string {
  const one = text.replace(/\s+/g, " ");
  return one.length <= n ? one : `${one.slice(0, n - 1)}…`;
}
