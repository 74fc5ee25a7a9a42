import * as z from "zod";
import type { AccessChange } from "../access/access";
import type { ConversationKind } from "../directory/directory";
import type { SourceRef } from "../model";
import { MEMBERS_SNAPSHOT_EVENT } from "./membership-sync";

/**
 * Slack's facts about who may read a conversation -> access changes (core/access/access.ts).
 * Public channels are open to their workspace; private channels, group DMs and DMs to their members.
 * Pure: the ingest consumer (events), the importer (member lists) and the membership sync
 * (conversations.members) all map through here.
 */

/** A conversation kind's audience. */
export function audienceOf(kind: ConversationKind): "workspace" | "members" {
  return kind === "public" ? "workspace" : "members";
}

const envelopeSchema = z
  .object({
    type: z.literal("event_callback"),
    team_id: z.string().min(1),
    event_time: z.number().nullish(),
    event: z
      .object({
        type: z.string(),
        subtype: z.string().nullish(),
        event_ts: z.string().nullish(),
        ts: z.string().nullish(),
        user: z.unknown().optional(),
        channel: z.unknown().optional(),
        channel_type: z.string().nullish(),
      })
      .loose(),
  })
  .loose();

const channelObject = z
  .object({
    id: z.string().min(1),
    creator: z.string().nullish(),
    is_private: z.boolean().nullish(),
    is_im: z.boolean().nullish(),
    is_mpim: z.boolean().nullish(),
    members: z.array(z.string()).nullish(),
  })
  .loose();

/** Private-channel events: Slack sends them for private channels only. */
const GROUP_EVENTS = new Set([
  "group_archive",
  "group_close",
  "group_deleted",
  "group_joined",
  "group_left",
  "group_open",
  "group_rename",
  "group_unarchive",
]);

/** Message subtypes that say someone joined or left (also in exports and message.* events). */
const JOINS = new Set(["channel_join", "group_join"]);
const LEAVES = new Set(["channel_leave", "group_leave"]);

/** A message event's channel_type -> the conversation's kind. */
const MESSAGE_CHANNEL_TYPES: Record<string, ConversationKind> = {
  channel: "public",
  group: "private",
  im: "im",
  mpim: "mpim",
};

/** Slack's time of an event: its own event_ts (microseconds) first, then the envelope's second. */
function eventTime(
  event: { event_ts?: string | null; ts?: string | null },
  envelopeSeconds?: number | null,
): Date {
  for (const s of [event.event_ts, event.ts]) {
    const n = s ? Number(s) : Number.NaN;
    if (Number.isFinite(n)) return new Date(n * 1000);
  }
  return typeof envelopeSeconds === "number" ? new Date(envelopeSeconds * 1000) : new Date();
}

/**
 * An Events API envelope -> the access changes it implies ([] for none): member_joined_channel and
 * member_left_channel, channel_created (public, its creator a member), group_* (private), im_created,
 * a channel object's member list, the channel_convert_to_private / _public and join / leave message
 * subtypes, and any message's channel_type for a conversation nothing is recorded for yet.
 */
export function mapAccessEvent(envelope: unknown, opts: { sourceName?: string | undefined }): AccessChange[] {
  const p = envelopeSchema.safeParse(envelope);
  if (!p.success) return [];
  const { event, team_id: teamId } = p.data;
  const source: SourceRef = { type: "slack", name: opts.sourceName ?? teamId };
  const at = eventTime(event, p.data.event_time);
  const user = typeof event.user === "string" && event.user !== "" ? event.user : undefined;
  const channelId = typeof event.channel === "string" ? event.channel : undefined;
  const object = channelObject.safeParse(event.channel);
  const conversation = channelId ?? (object.success ? object.data.id : undefined);
  if (!conversation) return [];
  const changes: AccessChange[] = [];
  const audience = (a: "workspace" | "members", fallback = false) =>
    changes.push({
      kind: "audience",
      source,
      conversation,
      audience: a,
      at,
      ...(fallback ? { fallback } : {}),
    });
  const member = (principal: string, isMember: boolean) =>
    changes.push({ kind: "member", source, conversation, principal, member: isMember, at });

  switch (event.type) {
    case "member_joined_channel":
    case "member_left_channel":
      // "G": a private channel (created before March 2021); "C" may be either kind.
      if (event.channel_type === "G") audience("members");
      if (user) member(user, event.type === "member_joined_channel");
      break;
    case "channel_created":
      audience("workspace");
      if (object.success && object.data.creator) member(object.data.creator, true);
      break;
    case MEMBERS_SNAPSHOT_EVENT: {
      const o = object.success ? object.data : undefined;
      audience(o && (o.is_private || o.is_im || o.is_mpim) ? "members" : "workspace");
      break;
    }
    case "im_created":
      audience("members");
      if (user) member(user, true);
      break;
    case "message": {
      const subtype = event.subtype ?? null;
      if (subtype === "channel_convert_to_private") audience("members");
      else if (subtype === "channel_convert_to_public") audience("workspace");
      else {
        const kind = event.channel_type ? MESSAGE_CHANNEL_TYPES[event.channel_type] : undefined;
        if (kind) audience(audienceOf(kind), true);
      }
      if (user && subtype && JOINS.has(subtype)) member(user, true);
      if (user && subtype && LEAVES.has(subtype)) member(user, false);
      break;
    }
    default:
      if (GROUP_EVENTS.has(event.type)) audience("members");
  }
  // A channel object that lists its members is the whole list as of the event.
  if (object.success && object.data.members) {
    changes.push({ kind: "members", source, conversation, principals: object.data.members, at });
  }
  return changes;
}
