import { type ChannelReaders, ConversationScope } from "../access/access";
import { visibleGaps } from "../access/visible-gaps";
import { PermanentError } from "../errors";
import type { EventQueue } from "../ports";
import { escapeMrkdwn, type SlackBlock, type SlackChannelMessage } from "../slack/block-kit";
import { channelPostJobSchema } from "../slack/reply-job";
import { openButton, slackDate, snippet } from "../slack/search-blocks";
import { selectGaps } from "./detect-gaps";
import type { CoordinationGap } from "./gap";

/** Gaps one digest lists at most (GAPS_DIGEST_LIMIT's ceiling): each is four blocks, Slack takes 50. */
export const MAX_DIGEST_GAPS = 10;
/** Slack's most blocks in one message. */
const MAX_BLOCKS = 50;
/** Characters of a representative message in the digest. */
const DIGEST_SNIPPET_CHARS = 160;

export interface GapDigestDeps {
  readonly readers: ChannelReaders;
  readonly queue: EventQueue;
}

export interface GapDigestOptions {
  /** The Slack conversation id the digest goes to (GAPS_DIGEST_CHANNEL). */
  readonly channel: string;
  readonly limit: number;
  /**
   * The messages of the previous computation's gaps: a gap is posted once, when it first appears,
   * i.e. when none of its messages was in a gap before (its key changes as the window slides past
   * its first message; its messages stay).
   */
  readonly previousMessages: ReadonlySet<number>;
}

/**
 * After a scheduled computation: the gaps that are new since the previous one and that every reader
 * of the digest channel may see on every side (a gap names what each side discusses: posting one
 * whose side a reader cannot open would tell them what is said there), best first, as one Slack
 * message on the replies queue. Nothing is queued when no such gap exists. Returns the gaps posted.
 */
export async function queueGapDigest(
  deps: GapDigestDeps,
  gaps: readonly CoordinationGap[],
  opts: GapDigestOptions,
): Promise<CoordinationGap[]> {
  const fresh = gaps.filter((g) => !g.messageIds.some((id) => opts.previousMessages.has(id)));
  if (fresh.length === 0) return [];
  const scope = new ConversationScope(
    `digest:${opts.channel}`,
    await deps.readers.conversationsEveryReaderSees(opts.channel),
  );
  const shown = selectGaps(visibleGaps(fresh, scope), undefined, Math.min(opts.limit, MAX_DIGEST_GAPS));
  if (shown.length === 0) return [];
  const { message, listed } = gapDigestMessage(shown);
  const job = channelPostJobSchema.safeParse({ channel: opts.channel, message });
  // A message Slack would refuse is a bug here, not an outage: the caller logs it and goes on.
  if (!job.success)
    throw new PermanentError(
      "gap_digest_invalid",
      `gap digest: ${job.error.issues[0]?.message ?? "invalid"}`,
    );
  await deps.queue.send(JSON.stringify(job.data));
  return shown.slice(0, listed);
}

/** A Slack conversation id renders as its link (`<#C…>`, the reader's own name for it); anything else as text. */
function conversationText(id: string): string {
  return /^[CGD][A-Z0-9]{6,}$/.test(id) ? `<#${id}>` : `*${escapeMrkdwn(id)}*`;
}

/**
 * A Slack user id renders as a mention (`<@U…>`: Slack shows each reader the person's name); it
 * notifies them, which is the digest's point: each side learns who works on the same thing.
 */
function personText(id: string): string {
  return /^[UW][A-Z0-9]{6,}$/.test(id) ? `<@${id}>` : escapeMrkdwn(id);
}

function gapBlocks(gap: CoordinationGap, index: number): SlackBlock[] {
  const sides = gap.sides.map((s) => s.conversations.map(conversationText).join(" + ")).join("  ⟷  ");
  const header = `*${index + 1}. ${escapeMrkdwn(snippet(gap.label, 120) || "untitled topic")}*\n${sides}`;
  const blocks: SlackBlock[] = [
    { type: "divider" },
    {
      type: "section",
      block_id: `gap-${index + 1}`,
      // verbatim: Slack links no bare #name, @name or URL in it (the text is escaped already).
      text: { type: "mrkdwn", text: header.slice(0, 3000), verbatim: true },
    },
  ];
  for (const [k, side] of gap.sides.entries()) {
    const people = side.people.slice(0, 6).map(personText).join(", ");
    const more = side.people.length > 6 ? ` and ${side.people.length - 6} more` : "";
    const first = side.representatives[0];
    const quote = first
      ? `\n> ${escapeMrkdwn(snippet(first.content, DIGEST_SNIPPET_CHARS))} (${slackDate(first.timestamp)})`
      : "";
    blocks.push({
      type: "section",
      block_id: `gap-${index + 1}-side-${k + 1}`,
      text: {
        type: "mrkdwn",
        verbatim: true,
        text: `${side.conversations.map(conversationText).join(" + ")}: ${side.messageCount} messages by ${people}${more}${quote}`.slice(
          0,
          3000,
        ),
      },
      ...(first ? openButton(first.permalink, `open-${first.messageId}`) : {}),
    });
  }
  return blocks;
}

/**
 * The digest as Block Kit: a summary, then per gap its label, its sides and a message of each side;
 * `listed`, how many of the gaps fit in Slack's 50 blocks.
 */
export function gapDigestMessage(gaps: readonly CoordinationGap[]): {
  message: SlackChannelMessage;
  listed: number;
} {
  const title =
    gaps.length === 1
      ? "1 new coordination gap: the same work discussed in separate conversations"
      : `${gaps.length} new coordination gaps: the same work discussed in separate conversations`;
  const blocks: SlackBlock[] = [{ type: "section", text: { type: "mrkdwn", text: `*${title}*` } }];
  let listed = 0;
  for (const [i, g] of gaps.entries()) {
    const more = gapBlocks(g, i);
    // Slack takes 50 blocks; the two closing notes need room (gaps with many sides list fewer).
    if (blocks.length + more.length + 2 > MAX_BLOCKS) break;
    blocks.push(...more);
    listed++;
  }
  if (listed < gaps.length) {
    blocks.push({
      type: "context",
      elements: [{ type: "mrkdwn", text: `${gaps.length - listed} more not shown here.` }],
    });
  }
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: "Only gaps between conversations open to everyone who reads this channel are listed. `GET /gaps` and `npx trisearch gaps` show each gap's score and messages.",
      },
    ],
  });
  // The notification text is mrkdwn too: a label made of message text is escaped like the blocks.
  const labels = gaps
    .slice(0, listed)
    .map((g) => escapeMrkdwn(snippet(g.label, 60)))
    .join("; ");
  return { message: { text: `${title}: ${labels}`.slice(0, 3000), blocks }, listed };
}
