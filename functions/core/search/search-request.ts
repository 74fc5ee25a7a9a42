import * as z from "zod";
import type { ReadAccess } from "../access/access";
import { type ErrorDetail, ValidationError } from "../errors";
import type { SearchFilters, SearchStrategy } from "../model";
import { storableString, unstorableReason } from "../storable";
import { type CursorKey, decodeCursor, MAX_LIMIT, type SearchCursor } from "./cursor";
import type { FusionMethod, LegWeights } from "./fusion";
import { interpretModifiers, type NotApplied, type SearchModifiers } from "./modifiers";
import { needsTermError, parseSearchText, type QueryNode } from "./query-parser";

/**
 * The search API's parameters, identical for `GET /search` (query-string map: values may be
 * strings or arrays from repeated keys) and `POST /search` (JSON body). Unknown keys are ignored.
 *
 * - q          1..1,000 characters (counted before trimming is rejected as blank); Slack's modifiers
 *              (`in:#general from:@alice before:2025-12-05`, modifiers.ts) become filters
 * - strategy   "hybrid" (default) | "bm25" | "semantic"
 * - channel, author, source   one or many: repeated keys, comma lists ("a,b"), a JSON array (in a
 *              body, or as a query-string value: channel=["#a","#b"]; a value that is not valid JSON
 *              is text); `source` values are names ("acme") or "type:name" pairs ("slack:acme")
 * - from, to   ISO-8601 date or date-time; no zone = UTC; a date-only `to` covers that whole day
 * - limit      1..100, default 20
 * - cursor     opaque, from a previous response's next_cursor
 * - explain    true/false, "true"/"false", "1"/"0"
 * - bm25_weight, semantic_weight   0..10: this request's fusion weights (hybrid)
 * - fusion     "convex" | "rrf": this request's fusion (hybrid)
 * - group      "thread" (default for hybrid) | "none" (default for bm25, semantic)
 * - sort       "relevance" (default) | "recent"
 * - context    0..10 messages before and after each hit
 * - viewer     the principal the search runs for (IAM-signed callers; a JWT names its own)
 */

export const MAX_QUERY_LENGTH = 1000;
export { MAX_LIMIT };
export const DEFAULT_LIMIT = 20;
/** Most messages of context before and after a hit (context=N). */
const MAX_CONTEXT = 10;
/** Bounds a filter list so one request cannot build a huge terms/$in clause. */
const MAX_FILTER_VALUES = 100;
const MAX_FILTER_VALUE_LENGTH = 256;

export interface SearchRequest {
  /** Trimmed query text as given (the cursor is bound to it). */
  readonly q: string;
  /** `q` parsed (query-parser.ts) without its modifiers: build the BM25 query from it, embed positiveText(query). */
  readonly query: QueryNode;
  /** The Slack modifiers in `q` (modifiers.ts): filters, names not yet resolved. */
  readonly modifiers: SearchModifiers;
  /** Modifiers in `q` that could not be used, with the reason (names not found are added at search time). */
  readonly notApplied: readonly NotApplied[];
  readonly strategy: SearchStrategy;
  readonly filters: SearchFilters;
  readonly limit: number;
  /** Decoded and already checked against this request. */
  readonly cursor?: SearchCursor;
  readonly explain: boolean;
  /**
   * Whom the search runs for (access.ts resolveReadAccess; the Slack command's invoking user). The
   * search use case refuses a request without it; the cursor is bound to it.
   */
  readonly access?: ReadAccess;
  /** Fusion weights the caller chose for this request (hybrid only); others come from config. */
  readonly weights?: Partial<LegWeights>;
  /** The fusion the caller chose for this request (hybrid only). */
  readonly fusion?: FusionMethod;
  /** `thread`: one result per thread (default for hybrid); `none`: one per message. */
  readonly group: "thread" | "none";
  /** `relevance` (default) or `recent`: newest first among the matches. */
  readonly sort: "relevance" | "recent";
  /** Messages before and after each hit in its thread or channel (0 = none). */
  readonly context: number;
}

/** Repeated query-string keys arrive as arrays; a scalar parameter may appear once. */
const single = (v: unknown): unknown => (Array.isArray(v) && v.length === 1 ? v[0] : v);

/** A query-string value written as a JSON array (`channel=["#a","#b"]`), or null if it is not one. */
function jsonStringList(value: string): string[] | null {
  if (!value.trimStart().startsWith("[")) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === "string") ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * For the OpenAPI rendering (zod-openapi's `override`): what a preprocessed field accepts, in place
 * of what zod derives from the schema after the preprocessing.
 */
function renderAs(accepted: Record<string, unknown>) {
  return ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
    for (const key of ["type", "items", "anyOf"]) delete jsonSchema[key];
    Object.assign(jsonSchema, accepted);
  };
}

const listField = z
  .preprocess(
    (v) => (typeof v === "string" ? [v] : v),
    z
      .array(storableString({ error: "must be a string or an array of strings" }), {
        error: "must be a string or an array of strings",
      })
      .transform((xs) => [
        ...new Set(
          xs
            // A JSON array of strings is a list; anything else, "[bot] deploy" too, is comma-split text.
            .flatMap((x) => jsonStringList(x) ?? x.split(","))
            .map((x) => x.trim())
            .filter((x) => x.length > 0),
        ),
      ])
      // A JSON-array value is decoded above, so its escapes ("\u0000") are checked here.
      .superRefine((xs, ctx) => {
        const reason = xs.map(unstorableReason).find(Boolean);
        if (reason) ctx.addIssue({ code: "custom", message: reason });
      })
      .refine((xs) => xs.length <= MAX_FILTER_VALUES, `at most ${MAX_FILTER_VALUES} values`)
      .refine(
        (xs) => xs.every((x) => x.length <= MAX_FILTER_VALUE_LENGTH),
        `each value is at most ${MAX_FILTER_VALUE_LENGTH} characters`,
      ),
  )
  .meta({
    // What the preprocess accepts: one string (comma-separated or a JSON array) or a list of them.
    override: renderAs({ anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] }),
  });

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Parses an ISO-8601 date or date-time; returns null when it is not one (incl. 2025-02-30). */
export function parseIsoDate(value: string, endOfDay = false): Date | null {
  const m = ISO_DATE_TIME.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Date silently rolls 2025-02-30 over to March: check the calendar ourselves.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)))
    return null;
  if (h === undefined) {
    return new Date(Date.UTC(year, month - 1, day, ...(endOfDay ? [23, 59, 59, 999] : [0, 0, 0, 0])));
  }
  const zoned = m[7] ? value.trim() : `${value.trim()}Z`;
  const date = new Date(zoned.replace(" ", "T"));
  return Number.isNaN(date.getTime()) ? null : date;
}

const dateField = (endOfDay: boolean) =>
  z
    .preprocess(
      single,
      z
        .union([z.date(), z.string()], { error: "must be an ISO-8601 date or date-time" })
        .transform((v, ctx) => {
          if (v instanceof Date) return v;
          const date = parseIsoDate(v, endOfDay);
          if (!date) {
            ctx.addIssue({ code: "custom", message: "must be an ISO-8601 date or date-time" });
            return z.NEVER;
          }
          return date;
        }),
    )
    .meta({
      override: renderAs({ type: "string" }),
      description: `ISO-8601 date or date-time; no zone = UTC${endOfDay ? "; a date alone covers the whole day" : ""}`,
    });

/** A page size 1..max from a query-string integer or a JSON number (search, gaps). */
export function limitField(max: number, fallback: number) {
  return z.preprocess(
    (v) => {
      const s = single(v);
      return typeof s === "string" && /^\s*-?\d+\s*$/.test(s) ? Number(s) : s;
    },
    z
      .number({ error: "must be an integer" })
      .int("must be an integer")
      .min(1, `must be between 1 and ${max}`)
      .max(max, `must be between 1 and ${max}`)
      .default(fallback),
  );
}

const weightField = z.preprocess((v) => {
  const s = single(v);
  return typeof s === "string" && s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s;
}, z
  .number({ error: "must be a number between 0 and 10" })
  .min(0, "must be between 0 and 10")
  .max(10, "must be between 0 and 10")
  .optional());

/** The `viewer` parameter: a Slack user id or another source's principal (search, gaps). */
export const viewerField = z
  .preprocess(
    single,
    storableString({ error: "must be a single string" })
      .trim()
      .min(1, "must not be empty")
      .max(MAX_FILTER_VALUE_LENGTH, `must be at most ${MAX_FILTER_VALUE_LENGTH} characters`)
      .optional(),
  )
  .meta({
    description:
      "Whom the search runs for (a Slack user id, or another source's principal): only from IAM-signed callers; behind a JWT authorizer the token's claim names the viewer and this may only repeat it",
  });

export const searchRequestSchema = z
  .object({
    q: z
      .preprocess(
        single,
        storableString({
          error: (iss) => (iss.input === undefined ? "is required" : "must be a single string"),
        })
          .max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`)
          .trim()
          .min(1, "must not be empty"),
      )
      .meta({
        param: { required: true },
        description:
          'Terms, "quoted phrases", AND / OR / NOT, -excluded, ( ), and Slack modifiers: in:#channel, in:@person (DMs), from:@person, to:@person (mentions), before: / after: / on: / during: a date, has:link / has:reaction / has:file, is:thread, -in:, -from:',
      }),
    strategy: z.preprocess(
      single,
      z
        .enum(["hybrid", "bm25", "semantic"], { error: "must be one of hybrid, bm25, semantic" })
        .default("hybrid"),
    ),
    channel: listField.optional().meta({ description: "Channel(s): repeat, comma-separate or a JSON array" }),
    author: listField.optional().meta({ description: "Author(s)" }),
    source: listField
      .optional()
      .meta({ description: "Source name(s) (`acme`) or `type:name` (`slack:acme`)" }),
    from: dateField(false).optional(),
    to: dateField(true).optional(),
    limit: limitField(MAX_LIMIT, DEFAULT_LIMIT),
    cursor: z
      .preprocess(single, z.string({ error: "must be a string" }).min(1, "must not be empty").optional())
      .meta({ description: "next_cursor of the previous page (bound to the same query)" }),
    explain: z
      .preprocess(
        (v) => {
          const s = single(v);
          if (s === "true" || s === "1" || s === 1) return true;
          if (s === "false" || s === "0" || s === 0 || s === "") return false;
          return s;
        },
        z.boolean({ error: "must be true or false" }).default(false),
      )
      .meta({ description: "true adds each leg's raw score (leg_scores)" }),
    bm25_weight: weightField.meta({ description: "hybrid: this request's weight of the BM25 leg (0..10)" }),
    semantic_weight: weightField.meta({
      description: "hybrid: this request's weight of the semantic leg (0..10)",
    }),
    fusion: z
      .preprocess(single, z.enum(["rrf", "convex"], { error: "must be rrf or convex" }).optional())
      .meta({ description: "hybrid: this request's fusion (convex or rrf)" }),
    group: z
      .preprocess(single, z.enum(["thread", "none"], { error: "must be thread or none" }).optional())
      .meta({
        description:
          "thread: one result per thread (its best hit, the parent, the reply count, the other matching messages' ids); none: one per message. Default: thread for hybrid, none for bm25 and semantic",
      }),
    sort: z
      .preprocess(
        single,
        z.enum(["relevance", "recent"], { error: "must be relevance or recent" }).default("relevance"),
      )
      .meta({ description: "relevance (default), or recent: newest first among the best matches" }),
    context: z
      .preprocess(
        (v) => {
          const s = single(v);
          return typeof s === "string" && /^\s*-?\d+\s*$/.test(s) ? Number(s) : s;
        },
        z
          .number({ error: "must be an integer" })
          .int("must be an integer")
          .min(0, `must be between 0 and ${MAX_CONTEXT}`)
          .max(MAX_CONTEXT, `must be between 0 and ${MAX_CONTEXT}`)
          .default(0),
      )
      .meta({
        description: `0..${MAX_CONTEXT}: messages before and after each hit in its thread or channel`,
      }),
    viewer: viewerField,
  })
  .refine((r) => !(r.from && r.to && r.from.getTime() > r.to.getTime()), {
    path: ["from"],
    message: "must not be after to",
  })
  // A JSON body must carry q (the preprocessing above makes every field optional to zod's renderer).
  .meta({ id: "SearchRequest", override: { required: ["q"] } });

/** Turns zod issues into `{path, message}` details naming the field ("channel.1", "limit", ...). */
function toDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}

/**
 * Validates and normalises a merged query-string map or a JSON body. Throws ValidationError
 * (400) whose details name every bad field; a cursor from another query is also a 400.
 * `decideAccess` turns the (validated) `viewer` parameter into whom the search runs for
 * (resolveReadAccess); a cursor issued to another viewer is then a 403.
 */
export function parseSearchRequest(
  input: unknown,
  cursorKey: CursorKey,
  decideAccess?: (viewerParam: string | undefined) => ReadAccess,
  now: Date = new Date(),
): SearchRequest {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError("Invalid search request", [
      { path: "(body)", message: "must be a JSON object" },
    ]);
  }
  const parsed = searchRequestSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Invalid search request", toDetails(parsed.error));
  const r = parsed.data;
  const parsedText = parseSearchText(r.q);
  if (!parsedText.ast) throw needsTermError(parsedText.modifiers.length > 0);
  const query = parsedText.ast;
  const { modifiers, notApplied } = interpretModifiers(parsedText.modifiers, now);
  const filters: SearchFilters = {
    ...(r.channel && r.channel.length > 0 ? { channels: r.channel } : {}),
    ...(r.author && r.author.length > 0 ? { authors: r.author } : {}),
    ...(r.source && r.source.length > 0 ? { sources: r.source } : {}),
    ...(r.from ? { from: r.from } : {}),
    ...(r.to ? { to: r.to } : {}),
  };
  const weights: Partial<LegWeights> | undefined =
    r.bm25_weight === undefined && r.semantic_weight === undefined
      ? undefined
      : {
          ...(r.bm25_weight === undefined ? {} : { bm25: r.bm25_weight }),
          ...(r.semantic_weight === undefined ? {} : { semantic: r.semantic_weight }),
        };
  const access = decideAccess?.(r.viewer);
  const base: SearchRequest = {
    q: r.q,
    query,
    modifiers,
    notApplied,
    strategy: r.strategy,
    filters,
    limit: r.limit,
    explain: r.explain,
    ...(weights ? { weights } : {}),
    ...(r.fusion ? { fusion: r.fusion } : {}),
    group: r.group ?? (r.strategy === "hybrid" ? "thread" : "none"),
    sort: r.sort,
    context: r.context,
    ...(access ? { access } : {}),
  };
  if (r.cursor === undefined) return base;
  return { ...base, cursor: decodeCursor(r.cursor, base, cursorKey) };
}

/** A source filter value: "acme" names a source; "slack:acme" is a type and a name. */
export interface SourceFilter {
  readonly type?: string;
  readonly name: string;
}

/** Splits a `sources` filter value at the first ":" (source names therefore contain no ":"). */
export function parseSourceFilter(value: string): SourceFilter {
  const idx = value.indexOf(":");
  if (idx <= 0 || idx === value.length - 1) return { name: value };
  return { type: value.slice(0, idx), name: value.slice(idx + 1) };
}

/** Groups `sources` filter values: plain names (one terms/$in clause) and type:name pairs. */
export function splitSourceFilters(values: readonly string[]): {
  names: string[];
  pairs: { type: string; name: string }[];
} {
  const names: string[] = [];
  const pairs: { type: string; name: string }[] = [];
  for (const v of values) {
    const s = parseSourceFilter(v);
    if (s.type === undefined) names.push(s.name);
    else pairs.push({ type: s.type, name: s.name });
  }
  return { names, pairs };
}

/**
 * Whole seconds since the epoch (floor): how timestamps and `from`/`to` bounds compare in every
 * filtering store (Chroma metadata, the PostgreSQL filter check), so both legs agree on the edges.
 */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
