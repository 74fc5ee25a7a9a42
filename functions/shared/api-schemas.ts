import * as z from "zod";

/**
 * The API's response bodies as zod schemas. Handlers type what they send with these (z.infer), and
 * openapi.ts renders them into /openapi.json beside the request schemas that validate input
 * (core's searchRequestSchema, ingestRequestSchema, slashCommandSchema): one definition per shape.
 * Objects are strict in the contract (additionalProperties: false), so a field a handler adds
 * without documenting it fails the contract tests.
 */

const legName = z.enum(["bm25", "semantic"]);
const perLeg = <T extends z.ZodType>(value: T) => z.object({ bm25: value, semantic: value });

export const errorResponseSchema = z
  .object({
    // Loose: the error body may grow fields (e.g. a request id) without breaking clients.
    error: z.looseObject({
      code: z.string().meta({ description: "Stable, machine-readable code, e.g. `validation_error`" }),
      message: z.string(),
      details: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .meta({ description: "Each bad field: its path (`messages.3.content`, `limit`) and what is wrong" }),
    }),
  })
  .meta({ id: "ErrorResponse", description: "Every error, from every route" });

export const ingestResponseSchema = z
  .object({
    accepted: z.array(
      z.object({
        external_id: z.string(),
        message_id: z.number().int(),
        status: z.enum(["created", "updated", "unchanged"]),
      }),
    ),
  })
  .meta({ id: "IngestResponse" });

export const deleteResponseSchema = z
  .object({
    message_id: z.number().int(),
    status: z.enum(["deleted", "already_deleted"]),
    version: z.number().int(),
  })
  .meta({ id: "DeleteResponse" });

const briefMessageSchema = z
  .object({
    message_id: z.number().int(),
    external_id: z.string(),
    author: z.string(),
    author_name: z.string(),
    content: z.string(),
    timestamp: z.iso.datetime(),
  })
  .meta({ id: "BriefMessage" });

const searchResultSchema = z
  .object({
    message_id: z.number().int(),
    external_id: z.string(),
    content: z.string(),
    highlights: z.array(z.string()).meta({
      description:
        "The best fragment of the content (up to ~200 characters), HTML-escaped, the query's matches in <mark>…</mark>: the window marking most query words (phrases only where they occur), else the window closest to the query by embedding",
    }),
    author: z.string(),
    author_name: z
      .string()
      .meta({ description: "The author's current display name (the directory), else `author`" }),
    channel: z.string(),
    channel_name: z
      .string()
      .meta({ description: "The channel's current name (the directory), else `channel`" }),
    timestamp: z.iso.datetime(),
    thread_id: z.string().nullable(),
    source: z.string(),
    source_type: z.string(),
    permalink: z.string().nullable().optional().meta({
      description: "Slack messages: the link to the message, null when the workspace domain is unknown",
    }),
    score: z.number().meta({
      description:
        "Fused score (hybrid: convex or RRF, see SEARCH_FUSION), BM25 score or cosine similarity (one leg)",
    }),
    ranks: perLeg(z.number().int().min(1).nullable()).meta({
      description: "1-based position in each leg's list; null when that leg did not find it",
    }),
    thread: z
      .object({
        parent: briefMessageSchema
          .nullable()
          .meta({ description: "The thread's first message; null when the hit is it, or it is not stored" }),
        reply_count: z.number().int().min(0),
        other_matching_ids: z
          .array(z.number().int())
          .meta({ description: "Other messages of the thread that matched (grouped into this result)" }),
      })
      .optional()
      .meta({ description: "group=thread and the hit is in a thread" }),
    context: z
      .object({ before: z.array(briefMessageSchema), after: z.array(briefMessageSchema) })
      .optional()
      .meta({
        description:
          "context=N: up to N messages before and after the hit in its thread or channel, oldest first",
      }),
    leg_scores: perLeg(z.number().nullable())
      .optional()
      .meta({ description: "Each leg's raw score (only with explain=true)" }),
    contributions: perLeg(z.number().nullable())
      .optional()
      .meta({ description: "Hybrid with explain=true: what each leg added to the fused score" }),
  })
  .meta({ id: "SearchResult" });

const appliedModifiersSchema = z
  .object({
    channel: z.array(z.string()).optional().meta({ description: "in:#channel (or an id), as typed" }),
    dm: z.array(z.string()).optional().meta({ description: "in:@person: direct messages with them" }),
    exclude_channel: z.array(z.string()).optional().meta({ description: "-in:#channel" }),
    exclude_dm: z.array(z.string()).optional().meta({ description: "-in:@person" }),
    from: z.array(z.string()).optional().meta({ description: "from:@person" }),
    exclude_from: z.array(z.string()).optional().meta({ description: "-from:@person" }),
    to: z.array(z.string()).optional().meta({ description: "to:@person: messages that mention them" }),
    date: z
      .object({ from: z.iso.datetime().optional(), to: z.iso.datetime().optional() })
      .optional()
      .meta({ description: "before: / after: / on: / during: as one inclusive UTC range" }),
    has: z.array(z.enum(["link", "reaction", "file"])).optional(),
    is: z.array(z.literal("thread")).optional(),
  })
  .meta({ id: "AppliedModifiers", description: "The modifiers in `q` that became filters" });

export const searchResponseSchema = z
  .object({
    strategy: z.enum(["hybrid", "bm25", "semantic"]),
    took_ms: z.number().min(0),
    results: z.array(searchResultSchema),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: "Pass as `cursor` for the next page; null on the last page" }),
    degraded: z
      .array(legName)
      .optional()
      .meta({ description: "Legs that failed; the results come from the others" }),
    applied: appliedModifiersSchema.optional().meta({ description: "Present when `q` has modifiers" }),
    not_applied: z
      .array(z.object({ modifier: z.string(), reason: z.string() }))
      .optional()
      .meta({
        description:
          "Modifiers in `q` that could not be used (unknown channel or person, bad date, ...): neither filtered on nor searched as words",
      }),
  })
  .meta({ id: "SearchResponse" });

const gapMessageSchema = z.object({
  message_id: z.number().int(),
  channel: z.string(),
  author: z.string(),
  content: z.string(),
  timestamp: z.iso.datetime(),
  permalink: z.string().nullable(),
});

const gapSchema = z
  .object({
    key: z.string(),
    label: z.string(),
    terms: z.array(z.string()),
    first_at: z.iso.datetime(),
    last_at: z.iso.datetime(),
    score: z.object({
      value: z.number(),
      similarity: z.number(),
      participant_overlap: z.number(),
      messages: z.number().int(),
      size_factor: z.number(),
      formula: z.string(),
    }),
    sides: z.array(
      z.object({
        conversations: z.array(z.string()),
        people: z.array(z.string()),
        message_count: z.number().int(),
        representatives: z.array(gapMessageSchema),
      }),
    ),
  })
  .meta({ id: "CoordinationGap" });

export const gapsResponseSchema = z
  .object({
    computed_at: z.iso
      .datetime()
      .nullable()
      .meta({ description: "When the shown computation ran; null before the first" }),
    window: z.object({ since: z.iso.datetime(), until: z.iso.datetime() }).nullable(),
    gaps: z.array(gapSchema),
  })
  .meta({ id: "GapsResponse" });

export const slackEventsResponseSchema = z
  .union([z.object({ challenge: z.string() }), z.object({ ok: z.literal(true) })])
  .meta({ id: "SlackEventsResponse" });

export type IngestResponse = z.infer<typeof ingestResponseSchema>;
export type DeleteResponse = z.infer<typeof deleteResponseSchema>;
export type SearchResponse = z.infer<typeof searchResponseSchema>;
export type GapsResponse = z.infer<typeof gapsResponseSchema>;
export type SlackEventsResponse = z.infer<typeof slackEventsResponseSchema>;
