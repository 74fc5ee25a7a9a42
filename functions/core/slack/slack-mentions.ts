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
