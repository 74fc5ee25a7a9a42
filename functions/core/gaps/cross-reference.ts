import type { GapDefinition } from "./definition";
import type { WindowMessage } from "./ports";

/** What one side shows of itself, for checking whether another side refers to it. */
export interface SideProfile {
  readonly channels: ReadonlySet<string>;
  readonly people: ReadonlySet<string>;
  /** The side's messages and the replies in their threads (a "cc #mobile" often sits in a reply). */
  readonly messages: readonly WindowMessage[];
}

const LINK = /\bhttps?:\/\/[^\s<>|]+/gi;

/** Links in a text, without trailing punctuation, lowercased. */
function links(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(LINK)) out.add(m[0].replace(/[).,;:!?'"\]]+$/, "").toLowerCase());
  return out;
}

/** The ways a text may name a person: the id itself, "@local-part" of an email, Slack's <@U123>. */
function personMentions(person: string): string[] {
  const p = person.toLowerCase();
  const forms = [p, `<@${p}>`];
  const at = p.indexOf("@");
  if (at > 0) forms.push(`@${p.slice(0, at)}`);
  else forms.push(`@${p}`);
  return forms;
}

/** Channel forms: "#mobile" as typed, Slack's <#C123> or <#C123|mobile>. */
function channelMentions(channel: string): string[] {
  const c = channel.toLowerCase();
  const bare = c.startsWith("#") ? c.slice(1) : c;
  return [`#${bare}`, `<#${bare}>`, `<#${bare}|`, `|${bare}>`];
}

/** Whether `text` contains `form` as a whole token (not "#mobile" inside "#mobile-ios"). */
function containsToken(text: string, form: string): boolean {
  let from = 0;
  for (;;) {
    const i = text.indexOf(form, from);
    if (i < 0) return false;
    const after = text[i + form.length];
    const before = i > 0 ? text[i - 1] : undefined;
    const endOk = after === undefined || !/[\w-]/.test(after) || form.endsWith("|") || form.endsWith(">");
    const startOk = before === undefined || !/[\w]/.test(before) || form.startsWith("|");
    if (endOk && startOk) return true;
    from = i + 1;
  }
}

/** Why `a` refers to `b`, or null when it does not (the definition says which references count). */
function reference(
  a: SideProfile,
  b: SideProfile,
  def: GapDefinition["crossReference"],
): "channel_mention" | "participant_mention" | "shared_link" | null {
  const texts = a.messages.map((m) => m.content.toLowerCase());
  if (def.channelMention) {
    const forms = [...b.channels].flatMap(channelMentions);
    if (texts.some((t) => forms.some((f) => containsToken(t, f)))) return "channel_mention";
  }
  if (def.participantMention) {
    // People of `a` named in `a` do not count: only the other side's people who are not also here.
    const forms = [...b.people].filter((p) => !a.people.has(p)).flatMap(personMentions);
    if (texts.some((t) => forms.some((f) => containsToken(t, f)))) return "participant_mention";
  }
  if (def.sharedLink) {
    const mine = new Set(texts.flatMap((t) => [...links(t)]));
    if (mine.size > 0 && b.messages.some((m) => [...links(m.content)].some((l) => mine.has(l))))
      return "shared_link";
  }
  return null;
}

/** Either side refers to the other. */
export function sidesReference(
  a: SideProfile,
  b: SideProfile,
  def: GapDefinition["crossReference"],
): "channel_mention" | "participant_mention" | "shared_link" | null {
  return reference(a, b, def) ?? reference(b, a, def);
}
