import type { LegName } from "../model";
import type { EnrichedMessage } from "../ports";
import { escapeMrkdwn, type SlackBlock, type SlackButton, type SlackResponseMessage } from "./block-kit";

/** Hits shown in Slack: an ephemeral reply stays short; "More results" opens the search page. */
export const SLACK_RESULT_LIMIT = 5;
/** Characters of content per hit (a section's text may hold 3,000; five long ones would be a wall). */
const SNIPPET_CHARS = 280;

interface SlackSearchHit {
  readonly message: EnrichedMessage;
  /** Marked-up excerpts (`<mark>` around matches) when the search returns them; the content otherwise. */
  readonly highlights?: readonly string[];
  /** The message in Slack (slackPermalink), when its workspace is known. */
  readonly permalink?: string | null;
}

export interface SlackSearchReply {
  readonly query: string;
  readonly hits: readonly SlackSearchHit[];
  /** There is at least one more page. */
  readonly more: boolean;
  readonly degraded: readonly LegName[];
  /** The search page (GET / of the local API), if one is reachable for this workspace. */
  readonly pageUrl?: string;
}

/** Cuts at a word boundary near `max` and marks the cut. */
export function snippet(text: string, max = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A highlight's `<mark>` becomes Slack bold; everything else is escaped text. */
function highlightToMrkdwn(highlight: string): string {
  return highlight
    .split(/(<mark>.*?<\/mark>)/g)
    .map((part) => {
      const m = /^<mark>(.*)<\/mark>$/.exec(part);
      return m ? `*${escapeMrkdwn(m[1] ?? "")}*` : escapeMrkdwn(part);
    })
    .join("");
}

/** Only an http(s) URL Slack accepts on a button becomes one. */
function buttonUrl(link: string | null | undefined): string | undefined {
  // An app sets permalinks (metadata.permalink): the URL parser, as the Block Kit schema's, decides.
  return typeof link === "string" &&
    /^https?:\/\/\S+$/.test(link) &&
    link.length <= 3000 &&
    URL.canParse(link)
    ? link
    : undefined;
}

/** An "Open" button to a message in Slack, when its link is one Slack takes on a button. */
export function openButton(
  link: string | null | undefined,
  actionId: string,
): { accessory: SlackButton } | Record<string, never> {
  const url = buttonUrl(link);
  return url
    ? { accessory: { type: "button", text: { type: "plain_text", text: "Open" }, url, action_id: actionId } }
    : {};
}

/** Slack renders `<!date^epoch^format|fallback>` in each reader's own time zone. */
export function slackDate(date: Date): string {
  const epoch = Math.floor(date.getTime() / 1000);
  return `<!date^${epoch}^{date_short_pretty} {time}|${date.toISOString()}>`;
}

/** The page URL with the query filled in (the page reads `q` from its own address). */
function searchPageLink(pageUrl: string, query: string): string {
  const url = new URL(pageUrl);
  url.searchParams.set("q", query);
  return url.toString();
}

function hitBlock(hit: SlackSearchHit, index: number): SlackBlock {
  const m = hit.message;
  const body =
    hit.highlights && hit.highlights.length > 0
      ? hit.highlights.map((h) => highlightToMrkdwn(snippet(h))).join(" … ")
      : escapeMrkdwn(snippet(m.content));
  const author = m.authorName ?? m.author;
  const channel = m.channelName ?? m.channel;
  const header = `*${escapeMrkdwn(author)}* in *${escapeMrkdwn(channel)}* · ${slackDate(m.timestamp)}`;
  const thread = m.threadId ? `\n_in thread ${escapeMrkdwn(m.threadId)}_` : "";
  return {
    type: "section",
    block_id: `hit-${index + 1}-${m.id}`.slice(0, 255),
    text: { type: "mrkdwn", text: `${header}\n${body}${thread}`.slice(0, 3000) },
    ...openButton(hit.permalink, `open-${m.id}`),
  };
}

/** The ephemeral reply for `/trisearch <query>`: a summary, the top hits, and a "More results" link. */
export function searchReplyMessage(reply: SlackSearchReply): SlackResponseMessage {
  const q = escapeMrkdwn(snippet(reply.query, 200));
  if (reply.hits.length === 0) {
    return { response_type: "ephemeral", text: `No results for "${reply.query.slice(0, 200)}"` };
  }
  const count = `${reply.hits.length}${reply.more ? "+" : ""}`;
  const blocks: SlackBlock[] = [
    { type: "section", text: { type: "mrkdwn", text: `*${count} results* for _${q}_` } },
  ];
  reply.hits.forEach((hit, i) => {
    blocks.push({ type: "divider" }, hitBlock(hit, i));
  });
  if (reply.degraded.length > 0) {
    blocks.push({
      type: "context",
      elements: [
        { type: "mrkdwn", text: `Partial results: the ${reply.degraded.join(" and ")} search failed.` },
      ],
    });
  }
  if (reply.pageUrl) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "More results" },
          url: searchPageLink(reply.pageUrl, reply.query),
          action_id: "more-results",
        },
      ],
    });
  }
  return {
    response_type: "ephemeral",
    text: `${count} results for "${reply.query.slice(0, 200)}"`,
    blocks,
  };
}

/** A short ephemeral notice (help, a bad query, search unavailable). */
export function noticeMessage(text: string): SlackResponseMessage {
  return { response_type: "ephemeral", text };
}
