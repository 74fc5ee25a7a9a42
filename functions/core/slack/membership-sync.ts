import type { ConversationPatch, DirectoryUser } from "../directory/directory";
import type { EventQueue } from "../ports";

/** A conversation the Slack app can see whose readers are its members (private, group DM, DM). */
export interface MemberListedConversation {
  readonly id: string;
  readonly isPrivate: boolean;
  readonly isIm: boolean;
  readonly isMpim: boolean;
}

/**
 * Slack's Web API as the sync reads it (auth.test, conversations.members); which conversations to
 * read comes from the directory refresh's conversations.list (syncSlackDirectory's memberListed).
 */
export interface SlackMembershipSource {
  teamId(): Promise<string>;
  members(conversationId: string): Promise<string[]>;
}

/** The ingest queue's record for one conversation's member list (slack-membership.ts maps it). */
export const MEMBERS_SNAPSHOT_EVENT = "trisearch_members_snapshot";

/**
 * The scheduled resync: every member-listed conversation's members from conversations.members,
 * each put on the ingest queue as a snapshot event, where the ingest consumer applies it like a
 * Slack event (the newest fact wins, so a join or leave seen live after the snapshot's time stays).
 * This function reaches Slack and the queue only: in AWS it runs outside the VPC.
 */
export async function syncSlackMemberships(deps: {
  readonly slack: SlackMembershipSource;
  readonly queue: EventQueue;
  readonly now?: () => number;
  /**
   * Private channels, group DMs and DMs (public channels are open to the workspace): the directory
   * refresh of the same run lists them (memberListed), so a run pages conversations.list once.
   */
  readonly conversations: readonly MemberListedConversation[];
}): Promise<{ conversations: number; members: number }> {
  const teamId = await deps.slack.teamId();
  let members = 0;
  const { conversations } = deps;
  for (const c of conversations) {
    const list = await deps.slack.members(c.id);
    members += list.length;
    const ms = (deps.now ?? Date.now)();
    await deps.queue.send(
      snapshotEnvelope(teamId, `Sync-${c.id}-${ms}`, ms, {
        type: MEMBERS_SNAPSHOT_EVENT,
        channel: { id: c.id, is_private: c.isPrivate, is_im: c.isIm, is_mpim: c.isMpim, members: list },
      }),
    );
  }
  return { conversations: conversations.length, members };
}

/** Slack's Web API as the directory refresh reads it (auth.test, users.list, conversations.list). */
export interface SlackDirectorySource {
  teamId(): Promise<string>;
  /** Every user of the workspace, deleted ones included (users.list). */
  directoryUsers(): Promise<DirectoryUser[]>;
  /** Every conversation the token can see, of every kind (conversations.list). */
  directoryConversations(): Promise<ConversationPatch[]>;
}

/** The ingest queue's record for a slice of the directory (slack-directory.ts maps it). */
export const DIRECTORY_SNAPSHOT_EVENT = "trisearch_directory_snapshot";

/** Entries per queued record: a few hundred bytes each, well inside SQS's 256 KiB. */
const DIRECTORY_SLICE = 200;

/**
 * The scheduled directory refresh: every user and conversation the token can see, put on the
 * ingest queue in slices, where the ingest consumer applies them like user_change/channel_* events.
 * In AWS this is how names reach the directory for ids no event named: the ingest consumer runs in
 * the VPC, which has no route to Slack, so it never looks ids up itself (README "Deploy to AWS").
 */
export async function syncSlackDirectory(deps: {
  readonly slack: SlackDirectorySource;
  readonly queue: EventQueue;
  readonly now?: () => number;
}): Promise<{ users: number; conversations: number; memberListed: MemberListedConversation[] }> {
  const teamId = await deps.slack.teamId();
  const users = await deps.slack.directoryUsers();
  const conversations = await deps.slack.directoryConversations();
  const send = async (kind: "users" | "conversations", entries: readonly unknown[], slice: number) => {
    const ms = (deps.now ?? Date.now)();
    await deps.queue.send(
      snapshotEnvelope(teamId, `Sync-directory-${kind}-${slice}-${ms}`, ms, {
        type: DIRECTORY_SNAPSHOT_EVENT,
        [kind]: entries,
      }),
    );
  };
  for (let i = 0; i < users.length; i += DIRECTORY_SLICE)
    await send("users", users.slice(i, i + DIRECTORY_SLICE), i / DIRECTORY_SLICE);
  for (let i = 0; i < conversations.length; i += DIRECTORY_SLICE)
    await send("conversations", conversations.slice(i, i + DIRECTORY_SLICE), i / DIRECTORY_SLICE);
  return {
    users: users.length,
    conversations: conversations.length,
    memberListed: memberListed(conversations),
  };
}

/** The conversations whose readers are their members (private, group DM, DM), from a directory list. */
function memberListed(conversations: readonly ConversationPatch[]): MemberListedConversation[] {
  return conversations.flatMap((c) =>
    c.kind === "private" || c.kind === "im" || c.kind === "mpim"
      ? [{ id: c.id, isPrivate: c.kind !== "im", isIm: c.kind === "im", isMpim: c.kind === "mpim" }]
      : [],
  );
}

/** A synced snapshot as the ingest queue carries Slack's events: an event_callback timed `ms`. */
function snapshotEnvelope(
  teamId: string,
  eventId: string,
  ms: number,
  event: Record<string, unknown>,
): string {
  return JSON.stringify({
    type: "event_callback",
    team_id: teamId,
    event_id: eventId,
    event_time: Math.floor(ms / 1000),
    event: { ...event, event_ts: (ms / 1000).toFixed(6) },
  });
}
