import * as z from "zod";
import type {
  ConversationKind,
  ConversationPatch,
  DirectoryChange,
  DirectoryUser,
} from "../directory/directory";
import type { SourceRef } from "../model";
import { DIRECTORY_SNAPSHOT_EVENT } from "./membership-sync";

/**
 * Slack's user and conversation objects (an export's users.json / channels.json, the Web API's
 * users.info / conversations.info, the user_change and channel_* events) -> directory entries.
 * Pure: the ingest consumer, the importer and the Web API adapter all map through here.
 */

const userSchema = z
  .object({
    id: z.string().min(1),
    team_id: z.string().nullish(),
    name: z.string().nullish(),
    real_name: z.string().nullish(),
    deleted: z.boolean().nullish(),
    is_bot: z.boolean().nullish(),
    profile: z
      .object({ display_name: z.string().nullish(), real_name: z.string().nullish() })
      .loose()
      .nullish(),
  })
  .loose();

/** A Slack user object; null when it has no id (not a user object at all). */
export function slackUser(raw: unknown): DirectoryUser | null {
  const p = userSchema.safeParse(raw);
  if (!p.success) return null;
  const u = p.data;
  return {
    id: u.id,
    name: u.name ?? null,
    displayName: u.profile?.display_name || null,
    realName: u.real_name || u.profile?.real_name || null,
    // Slackbot is a bot that Slack does not mark as one.
    isBot: Boolean(u.is_bot) || u.id === "USLACKBOT",
    deleted: Boolean(u.deleted),
  };
}

const conversationSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().nullish(),
    is_channel: z.boolean().nullish(),
    is_group: z.boolean().nullish(),
    is_im: z.boolean().nullish(),
    is_mpim: z.boolean().nullish(),
    is_private: z.boolean().nullish(),
    is_archived: z.boolean().nullish(),
  })
  .loose();

/**
 * A Slack conversation object. `kind` is what the caller knows from where it came (an export's
 * channels.json is public, groups.json private...); otherwise the object's own is_* flags say.
 */
export function slackConversation(raw: unknown, kind?: ConversationKind): ConversationPatch | null {
  const p = conversationSchema.safeParse(raw);
  if (!p.success) return null;
  const c = p.data;
  const flagged: ConversationKind | undefined = c.is_im
    ? "im"
    : c.is_mpim
      ? "mpim"
      : c.is_private || c.is_group
        ? "private"
        : c.is_channel
          ? "public"
          : undefined;
  const resolved = kind ?? flagged;
  return {
    id: c.id,
    ...(c.name !== undefined ? { name: c.name ?? null } : {}),
    ...(resolved ? { kind: resolved } : {}),
    ...(typeof c.is_archived === "boolean" ? { archived: c.is_archived } : {}),
  };
}

const envelopeSchema = z
  .object({
    type: z.literal("event_callback"),
    team_id: z.string().min(1),
    event_time: z.number().nullish(),
    event: z.object({ type: z.string(), event_ts: z.string().nullish() }).loose(),
  })
  .loose();

/** Events that change the directory, with the conversation kind each one implies. */
const CONVERSATION_EVENTS: Record<string, { kind: ConversationKind; archived?: boolean; full?: boolean }> = {
  channel_created: { kind: "public", full: true },
  channel_rename: { kind: "public", full: true },
  channel_archive: { kind: "public", archived: true },
  channel_unarchive: { kind: "public", archived: false },
  channel_deleted: { kind: "public", archived: true },
  group_rename: { kind: "private", full: true },
  group_archive: { kind: "private", archived: true },
  group_unarchive: { kind: "private", archived: false },
  group_deleted: { kind: "private", archived: true },
  im_created: { kind: "im", full: true },
};

const USER_EVENTS = new Set(["user_change", "team_join"]);

/** The resync's directory slice (membership-sync.ts DIRECTORY_SNAPSHOT_EVENT): entries as mapped. */
const directorySnapshotSchema = z.object({
  type: z.literal(DIRECTORY_SNAPSHOT_EVENT),
  users: z
    .array(
      z.object({
        id: z.string().min(1),
        name: z.string().nullable(),
        displayName: z.string().nullable(),
        realName: z.string().nullable(),
        isBot: z.boolean(),
        deleted: z.boolean(),
      }),
    )
    .optional(),
  conversations: z
    .array(
      z.object({
        id: z.string().min(1),
        name: z.string().nullable().optional(),
        kind: z.enum(["public", "private", "im", "mpim"]).optional(),
        archived: z.boolean().optional(),
      }),
    )
    .optional(),
});

function snapshotChange(event: unknown, source: SourceRef, at: Date): DirectoryChange | null {
  const p = directorySnapshotSchema.safeParse(event);
  if (!p.success) return null;
  if (p.data.users) return { kind: "users", source, users: p.data.users, at };
  if (p.data.conversations) {
    // Optional fields absent, not undefined: an absent field leaves what the directory holds.
    const conversations = p.data.conversations.map(
      (c): ConversationPatch => ({
        id: c.id,
        ...(c.name !== undefined ? { name: c.name } : {}),
        ...(c.kind ? { kind: c.kind } : {}),
        ...(c.archived !== undefined ? { archived: c.archived } : {}),
      }),
    );
    return { kind: "conversations", source, conversations, at };
  }
  return null;
}

/**
 * An Events API envelope -> a directory change; null when the event is not about the directory
 * (messages, or a malformed directory event, which is then ignored like any unknown event).
 */
export function mapDirectoryEvent(
  envelope: unknown,
  opts: { sourceName?: string | undefined },
): DirectoryChange | null {
  const p = envelopeSchema.safeParse(envelope);
  if (!p.success) return null;
  const { event, team_id: teamId } = p.data;
  const source: SourceRef = { type: "slack", name: opts.sourceName ?? teamId };
  const seconds = p.data.event_time ?? (event.event_ts ? Number(event.event_ts) : undefined);
  const at = seconds !== undefined && Number.isFinite(seconds) ? new Date(seconds * 1000) : new Date();
  if (event.type === DIRECTORY_SNAPSHOT_EVENT) return snapshotChange(event, source, at);
  if (USER_EVENTS.has(event.type)) {
    const user = slackUser(event.user);
    return user ? { kind: "users", source, users: [user], at } : null;
  }
  const rule = CONVERSATION_EVENTS[event.type];
  if (!rule) return null;
  const raw = event.channel;
  const base: ConversationPatch | null = rule.full
    ? slackConversation(raw)
    : typeof raw === "string"
      ? { id: raw }
      : null;
  if (!base) return null;
  // The object's own flags win (a private channel renamed may come as channel_rename).
  const kind = base.kind ?? rule.kind;
  const patch: ConversationPatch = {
    ...base,
    ...(kind ? { kind } : {}),
    ...(rule.archived !== undefined ? { archived: rule.archived } : {}),
  };
  return { kind: "conversations", source, conversations: [patch], at };
}
