import type { MessageFeature } from "../model";
import { mentionedIds } from "../slack/slack-mentions";

/**
 * What `has:` and `to:` ask of a message, decided from its content and metadata the same way in
 * every store: the keyword indexer writes these as fields, PostgreSQL evaluates the same rules in
 * SQL (pg-message-filter.ts; its integration test compares both on the same rows).
 *
 * - link:     the content holds an http(s) URL (Slack writes them `<https://...>` or `<https://...|text>`)
 * - reaction: metadata.reactions is a positive count or a non-empty list (Slack's `[{name, count}]`)
 * - file:     metadata.files is a positive count or a non-empty list
 * - mentions: the user ids in Slack mention markup (`<@U123>`, `<@U123|alice>`; slack-mentions.ts)
 *             and the strings of metadata.mentions (an app's own list, as given)
 *
 * Decided on the stored text: the keyword indexer renders mentions as names, so it passes these
 * from the raw row (messageFacets).
 */

const LINK_PATTERN = /https?:\/\/[^\s>|]/i;

export interface MessageFeatureInput {
  readonly content: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

function present(value: unknown): boolean {
  if (typeof value === "number") return value > 0;
  if (Array.isArray(value)) return value.length > 0;
  return false;
}

function messageFeatures(m: MessageFeatureInput): MessageFeature[] {
  const out: MessageFeature[] = [];
  if (LINK_PATTERN.test(m.content)) out.push("link");
  if (present(m.metadata["reactions"])) out.push("reaction");
  if (present(m.metadata["files"])) out.push("file");
  return out;
}

function messageMentions(m: MessageFeatureInput): string[] {
  const ids = new Set<string>(mentionedIds(m.content).users);
  const listed = m.metadata["mentions"];
  for (const v of Array.isArray(listed) ? listed : [listed])
    if (typeof v === "string" && v !== "") ids.add(v);
  return [...ids];
}

/** What the keyword index stores per message for `to:` and `has:`. */
export interface MessageFacets {
  readonly mentions: string[];
  readonly features: MessageFeature[];
}

export function messageFacets(m: MessageFeatureInput): MessageFacets {
  return { mentions: messageMentions(m), features: messageFeatures(m) };
}
