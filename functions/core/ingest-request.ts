import * as z from "zod";
import type { Visibility } from "./access/access";
import { type ErrorDetail, ValidationError } from "./errors";
import type { MessageInput, SourceRef } from "./model";
import {
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  metadataProblems,
  storableString,
  timestampOutOfRange,
} from "./storable";
import { zodDetails } from "./zod-details";

export const MAX_BATCH = 500;
export const MAX_CONTENT_CHARS = 40_000;

const nonBlank = (max: number) =>
  storableString()
    .max(max)
    .refine((s) => s.trim().length > 0, "must not be blank");

const messageSchema = z.object({
  external_id: nonBlank(255),
  channel: nonBlank(255),
  author: nonBlank(320),
  content: storableString().min(1).max(MAX_CONTENT_CHARS),
  timestamp: z.iso.datetime({ offset: true }).refine(
    // An unparseable value already has its issue from datetime(): one issue per field.
    (t) => Number.isNaN(Date.parse(t)) || !timestampOutOfRange(new Date(t)),
    `must be between ${new Date(MIN_TIMESTAMP_MS).toISOString()} and ${new Date(MAX_TIMESTAMP_MS - 1).toISOString()}`,
  ),
  thread_id: storableString().max(255).nullish(),
  metadata: z
    .record(z.string(), z.unknown())
    .superRefine((m, ctx) => {
      // Paths relative to metadata; zod prefixes the field's own path.
      for (const p of metadataProblems(m, "")) {
        ctx.addIssue({ code: "custom", message: p.message, path: p.path.split(".").filter(Boolean) });
      }
    })
    .optional(),
});

/** The most principals one visibility declaration may list. */
const MAX_PRINCIPALS = 1000;

const visibilitySchema = z
  .union([
    z.strictObject({ public: z.literal(true) }),
    z.strictObject({ principals: z.array(nonBlank(320)).max(MAX_PRINCIPALS) }),
  ])
  .meta({
    description:
      'Who may read these messages\' conversations (each channel of the request): `{"public": true}` (every viewer) or `{"principals": [...]}` (exactly these, as of now). Omitted: a conversation nothing was recorded for is public; one already declared keeps its declaration',
  });

export const ingestRequestSchema = z.object({
  source: z.object({ type: nonBlank(64), name: nonBlank(255) }),
  messages: z.array(messageSchema).min(1).max(MAX_BATCH),
  visibility: visibilitySchema.optional(),
});

/** DELETE /messages/{id}: the path parameter (documented in the OpenAPI contract from this schema). */
export const messageIdParamsSchema = z.object({
  id: z
    .string()
    .regex(/^\d{1,15}$/, "must be a positive integer")
    .transform(Number)
    .refine((n) => n > 0, "must be a positive integer")
    .meta({ description: "message_id" }),
});

export function parseMessageIdParams(params: Record<string, string | undefined>): { id: number } {
  const parsed = messageIdParamsSchema.safeParse(params);
  if (!parsed.success) throw new ValidationError("Invalid message id", zodDetails(parsed.error.issues));
  return parsed.data;
}

export interface IngestRequest {
  readonly source: SourceRef;
  readonly messages: readonly MessageInput[];
  readonly visibility?: Visibility;
}

/** Validates a POST /messages body. The whole request is rejected if any message is bad. */
export function parseIngestRequest(body: unknown): IngestRequest {
  const parsed = ingestRequestSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError("Invalid ingest request", zodDetails(parsed.error.issues));
  const seen = new Map<string, number>();
  const duplicates: ErrorDetail[] = [];
  parsed.data.messages.forEach((m, i) => {
    const first = seen.get(m.external_id);
    if (first === undefined) seen.set(m.external_id, i);
    else
      duplicates.push({
        path: `messages.${i}.external_id`,
        message: `duplicates messages.${first}.external_id`,
      });
  });
  if (duplicates.length > 0) throw new ValidationError("Duplicate external_id in one request", duplicates);
  return {
    source: parsed.data.source,
    messages: parsed.data.messages.map(toMessageInput),
    ...(parsed.data.visibility ? { visibility: parsed.data.visibility } : {}),
  };
}

/** A message in the API's wire shape (snake_case, ISO timestamp). */
export interface WireMessage {
  readonly external_id: string;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: string;
  readonly thread_id?: string | null;
  readonly metadata?: Record<string, unknown>;
}

/** Wire shape -> domain input (no validation: parseIngestRequest validates first). */
export function toMessageInput(m: WireMessage): MessageInput {
  return {
    externalId: m.external_id,
    channel: m.channel,
    author: m.author,
    content: m.content,
    timestamp: new Date(m.timestamp),
    threadId: m.thread_id ?? null,
    metadata: m.metadata ?? {},
  };
}
