import * as z from "zod";
import { ValidationError } from "../errors";
import type { SourceChange } from "../source-change";
import { zodDetails } from "../zod-details";
import { callbackSchema } from "./slack-envelope";

/**
 * Slack Events API payloads -> source changes. Pure: the webhook enqueues the envelope as
 * received and the ingest consumer maps it here.
 */

export interface SlackMappingOptions {
  /** Source name for every team; the team id when unset. */
  readonly sourceName?: string | undefined;
  /** Store bot messages (marked metadata.bot = true) or ignore them. */
  readonly storeBots: boolean;
}

export type SlackOperation =
  | { readonly kind: "apply"; readonly change: SourceChange }
  | { readonly kind: "ignore"; readonly eventId: string; readonly reason: string };

/** Slack's message id: epoch seconds and a 6-digit fraction, e.g. "1355517523.000005". */
const slackTs = z.string().regex(/^\d{1,12}\.\d{1,6}$/, "must be a Slack ts like 1355517523.000005");

/** Exact microseconds since the epoch (a JS Date would drop the last 3 digits). */
export function slackTsToMicros(ts: string): bigint {
  const [secs, frac = ""] = ts.split(".");
  return BigInt(secs ?? "0") * 1_000_000n + BigInt(frac.padEnd(6, "0").slice(0, 6));
}

export function slackTsToDate(ts: string): Date {
  return new Date(Number(slackTsToMicros(ts) / 1000n));
}

const messageFields = z
  .object({
    type: z.string().nullish(),
    subtype: z.string().nullish(),
    user: z.string().min(1).nullish(),
    bot_id: z.string().min(1).nullish(),
    username: z.string().min(1).nullish(),
    text: z.string().nullish(),
    ts: slackTs,
    thread_ts: slackTs.nullish(),
    edited: z.object({ user: z.string().nullish(), ts: slackTs }).loose().nullish(),
    client_msg_id: z.string().nullish(),
    files: z.array(z.object({ name: z.string().nullish(), title: z.string().nullish() }).loose()).nullish(),
    attachments: z
      .array(z.object({ fallback: z.string().nullish(), text: z.string().nullish() }).loose())
      .nullish(),
    reactions: z.array(z.object({ name: z.string(), count: z.number().int().nullish() }).loose()).nullish(),
  })
  .loose();

type SlackMessage = z.infer<typeof messageFields>;

const messageEventSchema = messageFields.extend({
  type: z.literal("message"),
  channel: z.string().min(1),
  channel_type: z.string().nullish(),
  event_ts: slackTs.nullish(),
  message: messageFields.nullish(),
  deleted_ts: slackTs.nullish(),
});

/** Subtypes that are someone's message; every other subtype (joins, topics, pins...) is ignored. */
const STORED_SUBTYPES = new Set(["thread_broadcast", "bot_message", "file_share", "me_message"]);

/** Maps one Events API envelope; throws ValidationError when it can never be applied. */
export function mapSlackEvent(envelope: unknown, opts: SlackMappingOptions): SlackOperation {
  const cb = callbackSchema.safeParse(envelope);
  if (!cb.success) throw new ValidationError("Not a Slack event_callback", zodDetails(cb.error.issues));
  const { event_id: eventId, team_id: teamId } = cb.data;
  if (cb.data.event.type !== "message")
    return { kind: "ignore", eventId, reason: `event:${cb.data.event.type}` };
  const parsed = messageEventSchema.safeParse(cb.data.event);
  if (!parsed.success) {
    throw new ValidationError(
      "Invalid Slack message event",
      zodDetails(parsed.error.issues).map((d) => ({ ...d, path: `event.${d.path}` })),
    );
  }
  const event = parsed.data;
  const source = { type: "slack", name: opts.sourceName ?? teamId };
  const ctx = {
    eventId,
    teamId,
    source,
    channel: event.channel,
    channelType: event.channel_type ?? null,
    opts,
  };
  const subtype = event.subtype ?? null;

  if (subtype === "message_deleted") {
    if (!event.deleted_ts) throw new ValidationError("message_deleted without deleted_ts");
    return deletion(ctx, event.deleted_ts, event.ts);
  }
  if (subtype === "message_changed") {
    const inner = event.message;
    if (!inner) throw new ValidationError("message_changed without message");
    // A thread parent deleted while it has replies stays behind as a tombstone: a delete to us.
    if (inner.subtype === "tombstone") return deletion(ctx, inner.ts, event.ts);
    // The payload is the whole message as of the change (event.ts), not only the edited text.
    return message(ctx, inner, slackTsToMicros(event.ts));
  }
  if (subtype !== null && !STORED_SUBTYPES.has(subtype))
    return { kind: "ignore", eventId, reason: `subtype:${subtype}` };
  return message(ctx, event, slackTsToMicros(event.ts));
}

export interface MappingContext {
  /** The event id (live) or where the message came from (an export's day file): for reports only. */
  readonly eventId: string;
  readonly teamId: string;
  readonly source: { type: string; name: string };
  readonly channel: string;
  readonly channelType: string | null;
  readonly opts: SlackMappingOptions;
}

/** Slack's ts is unique per channel only, so the channel is part of our external id. */
function slackExternalId(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}

function deletion(ctx: MappingContext, deletedTs: string, eventTs: string): SlackOperation {
  return {
    kind: "apply",
    change: {
      kind: "delete",
      eventId: ctx.eventId,
      source: ctx.source,
      externalId: slackExternalId(ctx.channel, deletedTs),
      sourceTimeUs: slackTsToMicros(eventTs),
    },
  };
}

/**
 * One message object as an export's day file holds it, under the rules of a live message event:
 * the same subtypes stored or skipped, the same fields, so the same message hashes the same. Its
 * source time is that of its latest edit (the state the export shows).
 */
export function mapExportedMessage(raw: unknown, ctx: MappingContext): SlackOperation {
  const parsed = messageFields.safeParse(raw);
  if (!parsed.success) throw new ValidationError("Invalid Slack message", zodDetails(parsed.error.issues));
  const m = parsed.data;
  const subtype = m.subtype ?? null;
  if (subtype !== null && !STORED_SUBTYPES.has(subtype))
    return { kind: "ignore", eventId: ctx.eventId, reason: `subtype:${subtype}` };
  const editedUs = m.edited ? slackTsToMicros(m.edited.ts) : 0n;
  const postedUs = slackTsToMicros(m.ts);
  return message(ctx, m, editedUs > postedUs ? editedUs : postedUs);
}

/** The channel_type a live event carries for a conversation of this kind. */
export const CHANNEL_TYPE: Record<"public" | "private" | "im" | "mpim", string> = {
  public: "channel",
  private: "group",
  im: "im",
  mpim: "mpim",
};

function message(ctx: MappingContext, m: SlackMessage, sourceTimeUs: bigint): SlackOperation {
  const bot = m.subtype === "bot_message" || Boolean(m.bot_id);
  if (bot && !ctx.opts.storeBots) return { kind: "ignore", eventId: ctx.eventId, reason: "bot_message" };
  const author = m.user ?? m.username ?? m.bot_id;
  if (!author) throw new ValidationError("Slack message has no user, username or bot_id");
  const content = contentOf(m);
  if (content === null) return { kind: "ignore", eventId: ctx.eventId, reason: "empty" };
  const metadata: Record<string, unknown> = {
    team_id: ctx.teamId,
    ts: m.ts,
    ...(ctx.channelType ? { channel_type: ctx.channelType } : {}),
    ...(m.subtype && m.subtype !== "thread_broadcast" ? { subtype: m.subtype } : {}),
    ...(m.client_msg_id ? { client_msg_id: m.client_msg_id } : {}),
    ...(bot ? { bot: true } : {}),
    ...(m.bot_id ? { bot_id: m.bot_id } : {}),
    ...(m.edited ? { edited: { user: m.edited.user ?? null, ts: m.edited.ts } } : {}),
    ...(m.files?.length ? { files: m.files.length } : {}),
    ...(m.reactions?.length
      ? { reactions: m.reactions.map((r) => ({ name: r.name, count: r.count ?? 1 })) }
      : {}),
  };
  return {
    kind: "apply",
    change: {
      kind: "upsert",
      eventId: ctx.eventId,
      source: ctx.source,
      sourceTimeUs,
      message: {
        externalId: slackExternalId(ctx.channel, m.ts),
        channel: ctx.channel,
        author,
        content,
        timestamp: slackTsToDate(m.ts),
        threadId: m.thread_ts ? slackExternalId(ctx.channel, m.thread_ts) : null,
        metadata,
      },
    },
  };
}

/** The text; for a message without text, its attachments' text or its file names. */
function contentOf(m: SlackMessage): string | null {
  if (m.text && m.text.trim() !== "") return m.text;
  const parts = [
    ...(m.attachments ?? []).map((a) => a.text || a.fallback || ""),
    ...(m.files ?? []).map((f) => f.title || f.name || ""),
  ].filter((p) => p.trim() !== "");
  return parts.length > 0 ? parts.join("\n") : null;
}
