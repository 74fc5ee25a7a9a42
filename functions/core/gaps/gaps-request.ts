import * as z from "zod";
import { type ErrorDetail, ValidationError } from "../errors";
import { limitField, parseIsoDate, viewerField } from "../search/search-request";

/**
 * GET /gaps parameters (and `trisearch gaps` flags). Unknown keys are ignored.
 *
 * - since, until  ISO-8601 date or date-time (a date-only `until` covers that day), or `since` as a
 *                 duration before `until`: 30m, 48h, 7d, 2w
 * - channel       one or many (repeated keys or a comma list): gaps with a side in one of them
 * - limit         1..100, default 20
 * - viewer        whom the read runs for (as in search): gaps between conversations they may read
 */
const MAX_GAPS_LIMIT = 100;
const DEFAULT_GAPS_LIMIT = 20;
const MAX_CHANNELS = 100;

export interface GapsRequest {
  readonly since?: Date;
  /** A duration back from the window's end, when `since` was given as one. */
  readonly sinceMs?: number;
  readonly until?: Date;
  readonly channels: readonly string[];
  readonly limit: number;
  /** The `viewer` parameter as given (access.ts decides whom the read runs for). */
  readonly viewer?: string;
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$/i;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d" -> 7 days in ms; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  return ms > 0 ? ms : null;
}

const single = (v: unknown): unknown => (Array.isArray(v) && v.length === 1 ? v[0] : v);

/** The most gaps GET /gaps reads before a viewer's scope narrows them. */
export const MAX_GAPS_READ = MAX_GAPS_LIMIT;

export const gapsRequestSchema = z
  .object({
    since: z
      .preprocess(
        single,
        z
          .string({ error: "must be an ISO-8601 date or date-time, or a duration like 7d" })
          .transform((v, ctx) => {
            const ms = parseDuration(v);
            if (ms !== null) return { ms };
            const date = parseIsoDate(v);
            if (date) return { date };
            ctx.addIssue({
              code: "custom",
              message: "must be an ISO-8601 date or date-time, or a duration like 7d",
            });
            return z.NEVER;
          })
          .optional(),
      )
      .meta({
        override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
          jsonSchema.type = "string";
        },
        description: "ISO-8601 date or date-time, or a duration back from `until` (`7d`, `12h`)",
      }),
    until: z.preprocess(
      single,
      z
        .string({ error: "must be an ISO-8601 date or date-time" })
        .transform((v, ctx) => {
          const date = parseIsoDate(v, true);
          if (!date) {
            ctx.addIssue({ code: "custom", message: "must be an ISO-8601 date or date-time" });
            return z.NEVER;
          }
          return date;
        })
        .optional(),
    ),
    channel: z
      .preprocess(
        (v) => (typeof v === "string" ? [v] : v),
        z
          .array(z.string({ error: "must be a string or a list of strings" }), {
            error: "must be a string or a list of strings",
          })
          .transform((xs) => [
            ...new Set(
              xs
                .flatMap((x) => x.split(","))
                .map((x) => x.trim())
                .filter(Boolean),
            ),
          ])
          .refine((xs) => xs.length <= MAX_CHANNELS, `at most ${MAX_CHANNELS} values`)
          .optional(),
      )
      .meta({
        override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
          for (const key of ["type", "items"]) delete jsonSchema[key];
          jsonSchema.anyOf = [{ type: "string" }, { type: "array", items: { type: "string" } }];
        },
        description: "Channel(s): repeat or comma-separate",
      }),
    limit: limitField(MAX_GAPS_LIMIT, DEFAULT_GAPS_LIMIT),
    viewer: viewerField,
  })
  .refine((r) => !(r.since?.date && r.until && r.since.date.getTime() >= r.until.getTime()), {
    path: ["since"],
    message: "must be before until",
  });

/** Validates a query-string map; throws ValidationError (400) naming every bad field. */
export function parseGapsRequest(input: unknown): GapsRequest {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new ValidationError("Invalid gaps request", [{ path: "(query)", message: "must be an object" }]);
  const parsed = gapsRequestSchema.safeParse(input);
  if (!parsed.success) {
    const details: ErrorDetail[] = parsed.error.issues.map((i) => ({
      path: i.path.length > 0 ? i.path.map(String).join(".") : "(query)",
      message: i.message,
    }));
    throw new ValidationError("Invalid gaps request", details);
  }
  const r = parsed.data;
  return {
    ...(r.since?.date ? { since: r.since.date } : {}),
    ...(r.since?.ms !== undefined ? { sinceMs: r.since.ms } : {}),
    ...(r.until ? { until: r.until } : {}),
    channels: r.channel ?? [],
    limit: r.limit,
    ...(r.viewer !== undefined ? { viewer: r.viewer } : {}),
  };
}
