import { ForbiddenError, UnauthorizedError } from "../errors";
import type { SourceRef, Viewer } from "../model";

/**
 * The permission model: who may read which conversation. A conversation (a source's channel) has an
 * audience and members, kept beside the messages in PostgreSQL and never copied into the index
 * documents, so a membership change applies to the next search without re-indexing anything.
 *
 * - `everyone`: every viewer (an app's conversation declared `{"public": true}`, or declared nothing)
 * - `workspace`: every member of its source (a Slack public channel: anyone in the workspace)
 * - `members`: its members only (Slack private channels, group DMs and DMs; an app's principal list)
 * A conversation with no recorded audience is visible to its members only.
 */
type Audience = "everyone" | "workspace" | "members";

/** Whom a read runs for: a viewer (a Slack user id, or another source's principal), or nobody in particular. */
export type ReadAccess =
  | { readonly kind: "viewer"; readonly viewer: Viewer }
  /** The admin tool: every conversation (only with SEARCH_ALLOW_UNSCOPED=true). */
  | { readonly kind: "unscoped" };

/** One fact about a conversation's readers, stamped with the source's time: the newest fact wins. */
export type AccessChange =
  | {
      readonly kind: "audience";
      readonly source: SourceRef;
      readonly conversation: string;
      readonly audience: Audience;
      readonly at: Date;
      /** A default (an app that declared nothing): applied only where nothing is recorded yet. */
      readonly fallback?: boolean;
    }
  | {
      readonly kind: "member";
      readonly source: SourceRef;
      readonly conversation: string;
      readonly principal: string;
      readonly member: boolean;
      readonly at: Date;
    }
  | {
      /** The whole member list as of `at` (an export, conversations.members, an app's principals). */
      readonly kind: "members";
      readonly source: SourceRef;
      readonly conversation: string;
      readonly principals: readonly string[];
      readonly at: Date;
    };

/** What an app declares on POST /messages for the conversations of its messages. */
export type Visibility = { readonly public: true } | { readonly principals: readonly string[] };

/**
 * The access facts of an app's write: a declaration sets each conversation's audience (and its
 * members, as of `at`); no declaration makes a conversation nothing was recorded for public.
 */
export function declaredAccess(
  source: SourceRef,
  channels: readonly string[],
  visibility: Visibility | undefined,
  at: Date,
): AccessChange[] {
  return [...new Set(channels)].flatMap((conversation): AccessChange[] => {
    if (!visibility)
      return [{ kind: "audience", source, conversation, audience: "everyone", at, fallback: true }];
    if ("public" in visibility) return [{ kind: "audience", source, conversation, audience: "everyone", at }];
    return [
      { kind: "audience", source, conversation, audience: "members", at },
      { kind: "members", source, conversation, principals: visibility.principals, at },
    ];
  });
}

/** Writes access facts (PostgreSQL: conversation_access, conversation_members). */
export interface AccessStore {
  apply(changes: readonly AccessChange[]): Promise<void>;
}

export interface ConversationRef {
  readonly source: SourceRef;
  readonly conversation: string;
}

/** Reads what a principal may see, at the moment of the call. */
export interface VisibilityReader {
  visibleConversations(principal: string): Promise<ConversationRef[]>;
}

/** Who reads a channel as a whole, for what is posted there (the gaps digest). */
export interface ChannelReaders {
  /**
   * The conversations open to the channel's whole audience, never members-only ones (whoever joins
   * later reads the channel's history), that each of its recorded members may read too. Empty when
   * nothing is recorded about the channel: nothing posted there may show a conversation.
   */
  conversationsEveryReaderSees(channel: string): Promise<ConversationRef[]>;
}

/** One string per (source, conversation): two sources may use one conversation id. */
export const conversationKey = (source: SourceRef, conversation: string) =>
  `${source.type}:${source.name}\u0000${conversation}`;

/**
 * The conversations a viewer may read, resolved once per request. The legs receive its
 * conversation ids as a channel filter (the same path as `channel=`); enrichment checks each row's
 * exact (source, channel), so two sources that reuse a channel id never open each other's messages.
 */
export class ConversationScope {
  /** Distinct conversation ids: the channel filter each leg applies. */
  readonly channels: readonly string[];
  private readonly exact: Set<string>;
  private readonly channelSet: Set<string>;

  constructor(
    readonly viewer: string,
    conversations: readonly ConversationRef[],
  ) {
    this.exact = new Set(conversations.map((c) => conversationKey(c.source, c.conversation)));
    this.channelSet = new Set(conversations.map((c) => c.conversation));
    this.channels = [...this.channelSet].sort();
  }

  /** How many conversations are in scope (the audit log's number). */
  get size(): number {
    return this.exact.size;
  }

  /** A conversation id is in scope in some source (for data that carries no source: gap sides). */
  includesChannel(channel: string): boolean {
    return this.channelSet.has(channel);
  }

  allows(source: SourceRef, channel: string): boolean {
    return this.exact.has(conversationKey(source, channel));
  }

  /**
   * A leg's channel filter narrowed to the scope: the caller's own channels that are visible, or
   * every visible one; null when nothing is left (the leg has nothing to find).
   */
  narrow(channels: readonly string[] | undefined): readonly string[] | null {
    const narrowed = channels ? channels.filter((c) => this.channelSet.has(c)) : this.channels;
    return narrowed.length > 0 ? narrowed : null;
  }
}

/** The scope a read runs in: null for the unscoped admin mode. */
export async function resolveScope(
  reader: VisibilityReader,
  access: ReadAccess,
): Promise<ConversationScope | null> {
  if (access.kind === "unscoped") return null;
  return new ConversationScope(access.viewer.userId, await reader.visibleConversations(access.viewer.userId));
}

/** Where a request's viewer may come from (README "Permissions"). */
export interface ViewerSources {
  /** Claims an API Gateway JWT authorizer verified; undefined when the route has no JWT authorizer. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** The claim that names the viewer (SEARCH_VIEWER_CLAIM). */
  readonly claimName: string;
  /** The request's `viewer` parameter: trusted from IAM-signed callers only. */
  readonly param?: string | undefined;
  /** SEARCH_ALLOW_UNSCOPED: a request without a viewer reads every conversation. */
  readonly allowUnscoped: boolean;
}

/**
 * Decides whom a read runs for. A verified JWT names the viewer by its claim, and a `viewer`
 * parameter may then only repeat it (403 otherwise: a token holder cannot search as someone
 * else). Without a JWT (IAM-signed callers, the local API) the `viewer` parameter names it.
 * Neither: the unscoped admin mode where the deployment allows it, else 401.
 */
export function resolveReadAccess(s: ViewerSources): ReadAccess {
  if (s.claims !== undefined) {
    const claimed = s.claims[s.claimName];
    if (typeof claimed !== "string" || claimed.trim() === "") {
      throw new ForbiddenError(`The token has no "${s.claimName}" claim naming the viewer`);
    }
    if (s.param !== undefined && s.param !== claimed) {
      throw new ForbiddenError("The viewer is the token's own", [
        { path: "viewer", message: `must be omitted or equal the token's "${s.claimName}" claim` },
      ]);
    }
    return { kind: "viewer", viewer: { userId: claimed } };
  }
  if (s.param !== undefined) return { kind: "viewer", viewer: { userId: s.param } };
  if (s.allowUnscoped) return { kind: "unscoped" };
  throw new UnauthorizedError("A search runs as a viewer: none was given", [
    {
      path: "viewer",
      message: `is required: a JWT with the "${s.claimName}" claim, or viewer= from an IAM-signed caller`,
    },
  ]);
}
