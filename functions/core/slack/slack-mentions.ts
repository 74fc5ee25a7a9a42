import type { MentionNames } from "../directory/directory";
import type { SourceRef } from "../model";

/**
 * Slack's mention markup in message text: `<@U024BE7LH>`, `<@U024BE7LH|alice>`,
 * `<#C0G9QF9GZ|general>`, `<#C0G9QF9GZ>` (https://api.slack.com/reference/surfaces/formatting).
 */
const MENTION = /<([@#])([UWCGD][A-Z0-9]{2,})(?:\|([^>]*))?>/g;

/** User ids start with U or W; the ids a Web API look-up can answer. */
export const isSlackUserId = (id: string): boolean => /^[UW][A-Z0-9]{2,}$/.test(id);
export const isSlackConversationId = (id: string): boolean => /^[CGD][A-Z0-9]{2,}$/.test(id);

export function mentionedIds(text: string): { users: string[]; conversations: string[] } {
  const users = new Set<string>();
  const conversations = new Set<string>();
  for (const m of text.matchAll(MENTION)) (m[1] === "@" ? users : conversations).add(m[2]!);
  return { users: [...users], conversations: [...conversations] };
}

/**
 * The text as people read it: `<@U…>` -> `@name`, `<#C…|general>` -> `#general`. A name the
 * directory has wins over the label in the markup (it may be from before a rename); without
 * either the id stays.
 */
export function renderMentions(
  text: string,
  names: { user(id: string): string | null | undefined; conversation(id: string): string | null | undefined },
): string {
  return text.replace(MENTION, (_all, sigil: string, id: string, label: string | undefined) => {
    const name = (sigil === "@" ? names.user(id) : names.conversation(id)) ?? (label || null);
    return `${sigil}${name ?? id}`;
  });
}

/**
 * Messages with their mentions rendered as names (one directory read per source). Messages
 * without mention markup are returned as they are, without a read.
 */
export async function withMentionsRendered<
  T extends { readonly source: SourceRef; readonly content: string },
>(names: MentionNames, messages: readonly T[]): Promise<T[]> {
  const bySource = new Map<string, { source: SourceRef; users: Set<string>; conversations: Set<string> }>();
  for (const m of messages) {
    const ids = mentionedIds(m.content);
    if (ids.users.length === 0 && ids.conversations.length === 0) continue;
    const key = JSON.stringify([m.source.type, m.source.name]);
    const entry = bySource.get(key) ?? { source: m.source, users: new Set(), conversations: new Set() };
    bySource.set(key, entry);
    for (const u of ids.users) entry.users.add(u);
    for (const c of ids.conversations) entry.conversations.add(c);
  }
  if (bySource.size === 0) return [...messages];
  const found = new Map<string, Awaited<ReturnType<MentionNames["displayNames"]>>>();
  for (const [key, e] of bySource)
    found.set(
      key,
      await names.displayNames(e.source, { users: [...e.users], conversations: [...e.conversations] }),
    );
  return messages.map((m) => {
    const n = found.get(JSON.stringify([m.source.type, m.source.name]));
    if (!n) return m;
    const content = renderMentions(m.content, {
      user: (id) => n.users.get(id),
      conversation: (id) => n.conversations.get(id),
    });
    return content === m.content ? m : { ...m, content };
  });
}
