import type { SourceRef } from "../model";

/** A person (or bot) of a source, as Slack's users.list / users.info / user_change describe them. */
export interface DirectoryUser {
  readonly id: string;
  /** The handle ("alice"): what `@alice` matches first. */
  readonly name: string | null;
  readonly displayName: string | null;
  readonly realName: string | null;
  readonly isBot: boolean;
  readonly deleted: boolean;
}

export type ConversationKind = "public" | "private" | "im" | "mpim";

/**
 * What a source says about a conversation. Events are partial (a rename carries the name, an
 * archive only the id): an absent field leaves what the directory holds.
 */
export interface ConversationPatch {
  readonly id: string;
  readonly name?: string | null;
  readonly kind?: ConversationKind;
  readonly archived?: boolean;
}

/** A change to the directory, stamped with the source's time so the newest wins per field. */
export type DirectoryChange =
  | {
      readonly kind: "users";
      readonly source: SourceRef;
      readonly users: readonly DirectoryUser[];
      readonly at: Date;
    }
  | {
      readonly kind: "conversations";
      readonly source: SourceRef;
      readonly conversations: readonly ConversationPatch[];
      readonly at: Date;
    };

/** The directory of people and conversations per source (PostgreSQL). */
export interface DirectoryStore {
  /** Applies a change; a field older than what is stored is left alone. */
  apply(change: DirectoryChange): Promise<void>;
  /** The ids among these that the directory does not know (for a Web API look-up). */
  unknown(
    source: SourceRef,
    ids: { readonly users: readonly string[]; readonly conversations: readonly string[] },
  ): Promise<{ users: string[]; conversations: string[] }>;
  /** Records source-level facts (e.g. the workspace domain permalinks are built on). */
  setSourceConfig(source: SourceRef, config: Readonly<Record<string, string>>): Promise<void>;
}

/** Names to show for ids of one source (mentions in message text). */
export interface MentionNames {
  displayNames(
    source: SourceRef,
    ids: { readonly users: readonly string[]; readonly conversations: readonly string[] },
  ): Promise<{ users: Map<string, string>; conversations: Map<string, string> }>;
}

/** Slack's Web API (users.info, conversations.info); null when the id does not exist there. */
export interface DirectoryLookup {
  user(id: string): Promise<DirectoryUser | null>;
  conversation(id: string): Promise<ConversationPatch | null>;
}

/** The user's name to show: display name, else real name, else handle (Slack's own order). */
export function userDisplayName(u: Pick<DirectoryUser, "name" | "displayName" | "realName">): string | null {
  return nonEmpty(u.displayName) ?? nonEmpty(u.realName) ?? nonEmpty(u.name);
}

function nonEmpty(s: string | null | undefined): string | null {
  return s && s.trim() !== "" ? s : null;
}

/**
 * Asks the Web API for ids the directory does not know and stores what it finds. Best effort:
 * a failed look-up is reported and the ids stay ids (nothing that depends on names fails).
 */
export async function learnUnknownIds(
  deps: {
    readonly directory: DirectoryStore;
    readonly lookup: DirectoryLookup;
    readonly warn?: (message: string, err: unknown) => void;
  },
  source: SourceRef,
  ids: { readonly users: readonly string[]; readonly conversations: readonly string[] },
): Promise<{ users: number; conversations: number }> {
  const unknown = await deps.directory.unknown(source, {
    users: [...new Set(ids.users)],
    conversations: [...new Set(ids.conversations)],
  });
  const users: DirectoryUser[] = [];
  const conversations: ConversationPatch[] = [];
  const attempt = async <T>(what: string, call: () => Promise<T | null>, into: T[]) => {
    try {
      const found = await call();
      if (found) into.push(found);
    } catch (err) {
      deps.warn?.(`Slack look-up of ${what} failed`, err);
    }
  };
  for (const id of unknown.users) await attempt(`user ${id}`, () => deps.lookup.user(id), users);
  for (const id of unknown.conversations)
    await attempt(`conversation ${id}`, () => deps.lookup.conversation(id), conversations);
  const at = new Date();
  if (users.length > 0) await deps.directory.apply({ kind: "users", source, users, at });
  if (conversations.length > 0)
    await deps.directory.apply({ kind: "conversations", source, conversations, at });
  return { users: users.length, conversations: conversations.length };
}
