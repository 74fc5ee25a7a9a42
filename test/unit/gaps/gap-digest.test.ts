import { describe, expect, it } from "vitest";
import type { ConversationRef } from "../../../functions/core/access/access";
import { PermanentError } from "../../../functions/core/errors";
import type { CoordinationGap, GapSide } from "../../../functions/core/gaps/gap";
import { gapDigestMessage, MAX_DIGEST_GAPS, queueGapDigest } from "../../../functions/core/gaps/gap-digest";
import type { SlackChannelMessage } from "../../../functions/core/slack/block-kit";
import { slackChannelMessageSchema } from "../../../functions/core/slack/block-kit";
import { channelPostJobSchema, deliverReply, replyJobSchema } from "../../../functions/core/slack/reply-job";

const source = { type: "slack", name: "acme" };

function side(
  conversation: string,
  people: string[],
  content: string,
  permalink: string | null = null,
): GapSide {
  return {
    conversations: [conversation],
    people,
    messageCount: people.length + 1,
    representatives: [
      {
        messageId: conversation.length * 100 + people.length,
        channel: conversation,
        author: people[0]!,
        content,
        timestamp: new Date("2026-01-05T10:00:00Z"),
        permalink,
      },
    ],
  };
}

function gap(
  key: string,
  score: number,
  sides: GapSide[],
  label = "refresh token invalid_grant",
): CoordinationGap {
  return {
    key,
    label,
    terms: label.split(" "),
    sides,
    firstAt: new Date("2026-01-05T09:00:00Z"),
    lastAt: new Date("2026-01-06T09:00:00Z"),
    score: { value: score, similarity: 0.8, participantOverlap: 0, messages: 6, sizeFactor: 0.6 },
    messageIds: [1, 2, 3],
  };
}

const oauth = gap("1:C0AUTH001,C0MOBILE1", 0.5, [
  side(
    "C0AUTH001",
    ["U0BOB0001", "U0CHARLIE"],
    "Rolling out OAuth2 refresh token rotation",
    "https://acme.slack.com/archives/C0AUTH001/p1",
  ),
  side("C0MOBILE1", ["U0FRANK01"], "Login fails with invalid_grant after <refresh>"),
]);
const billing = gap("7:C0BILLING,C0PLATFRM", 0.3, [
  side("C0BILLING", ["U0DAVE001"], "Stripe webhook retries"),
  side("C0PLATFRM", ["U0ERIN001"], "webhook signature checks"),
]);

/** Our own ports as tests hold them: what the readers say, what the queue got. */
function deps(visible: string[]) {
  const sent: string[] = [];
  return {
    sent,
    readers: {
      conversationsEveryReaderSees: async (): Promise<ConversationRef[]> =>
        visible.map((conversation) => ({ source, conversation })),
    },
    queue: { send: async (body: string) => void sent.push(body) },
  };
}

describe("gap digest", () => {
  it("is a Block Kit message Slack accepts, Slack ids as links and mentions, text escaped", () => {
    const evil = gap("9:C0AUTH001,C0MOBILE1", 0.4, oauth.sides as GapSide[], "<!channel> & <@U0BOB0001>");
    const { message, listed } = gapDigestMessage([oauth, evil]);
    expect(listed).toBe(2);
    expect(slackChannelMessageSchema.safeParse(message).success).toBe(true);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain("<#C0AUTH001>");
    expect(text).toContain("<@U0BOB0001>, <@U0CHARLIE>");
    expect(text).toContain("&lt;refresh&gt;");
    expect(text).toContain("&lt;!channel&gt; &amp; &lt;@U0BOB0001&gt;");
    expect(text).not.toContain("<!channel>");
    expect(message.text).toMatch(/^2 new coordination gaps: /);
    // The notification text is mrkdwn as well: a label made of message text is escaped there too.
    expect(message.text).toContain("&lt;!channel&gt;");
    expect(message.text).not.toMatch(/<!channel>|<@U/);
    // The side with a permalink gets an Open button to it.
    expect(text).toContain('"url":"https://acme.slack.com/archives/C0AUTH001/p1"');
  });

  it("stays within Slack's 50 blocks however many sides the gaps have", () => {
    const wide = Array.from({ length: MAX_DIGEST_GAPS }, (_, i) =>
      gap(
        `${i}:x`,
        1 - i / 100,
        [0, 1, 2, 3].map((k) => side(`C0SIDE00${k}`, [`U0P${i}${k}00000`], "text")),
      ),
    );
    const { message, listed } = gapDigestMessage(wide);
    expect(message.blocks!.length).toBeLessThanOrEqual(50);
    expect(listed).toBeLessThan(MAX_DIGEST_GAPS);
    expect(message.text).toMatch(new RegExp(`^${MAX_DIGEST_GAPS} new`));
    expect(slackChannelMessageSchema.safeParse(message).success).toBe(true);
    expect(JSON.stringify(message.blocks)).toMatch(/\d+ more not shown here/);
  });

  it("queues the new gaps every reader may see, best first; nothing when none is left", async () => {
    const all = deps(["C0AUTH001", "C0MOBILE1", "C0BILLING", "C0PLATFRM"]);
    const posted = await queueGapDigest(all, [billing, oauth], {
      channel: "C0DIGEST1",
      limit: 5,
      previousMessages: new Set(),
    });
    expect(posted.map((g) => g.key)).toEqual([oauth.key, billing.key]);
    expect(all.sent).toHaveLength(1);
    const job = channelPostJobSchema.parse(JSON.parse(all.sent[0]!));
    expect(job.channel).toBe("C0DIGEST1");
    expect(job.message.text).toMatch(/^2 new/);

    // A gap with a side some reader may not open is left out; a gap with a message of the last
    // run's gaps too, whatever its key now (the window slid past its first message).
    const noMobile = deps(["C0AUTH001", "C0BILLING", "C0PLATFRM"]);
    const billingLater = { ...billing, key: "8:C0BILLING,C0PLATFRM", messageIds: [3, 8, 9] };
    const left = await queueGapDigest(noMobile, [billingLater, oauth], {
      channel: "C0DIGEST1",
      limit: 5,
      previousMessages: new Set([1, 2, 3]),
    });
    expect(left).toEqual([]);
    expect(noMobile.sent).toEqual([]);

    const one = deps(["C0AUTH001", "C0MOBILE1", "C0BILLING", "C0PLATFRM"]);
    expect(
      (
        await queueGapDigest(one, [billing, oauth], { channel: "C0D", limit: 1, previousMessages: new Set() })
      ).map((g) => g.key),
    ).toEqual([oauth.key]);
  });

  it("a permalink Slack would refuse gets no button; a failed send fails the call (the run is not saved)", async () => {
    const odd = gap("2:C0AUTH001,C0MOBILE1", 0.5, [
      side("C0AUTH001", ["U0BOB0001"], "rotation", "https://acme.example:99999/x"),
      side("C0MOBILE1", ["U0FRANK01"], "logouts"),
    ]);
    const { message } = gapDigestMessage([odd]);
    expect(slackChannelMessageSchema.safeParse(message).success).toBe(true);
    expect(JSON.stringify(message.blocks)).not.toContain("99999");
    const down = {
      ...deps(["C0AUTH001", "C0MOBILE1"]),
      queue: {
        send: async () => {
          throw new Error("SQS unavailable");
        },
      },
    };
    await expect(
      queueGapDigest(down, [odd], { channel: "C0DIGEST1", limit: 5, previousMessages: new Set() }),
    ).rejects.toThrow("SQS unavailable");
  });

  it("the replies queue carries both kinds of job; a channel post without a bot token is permanent", async () => {
    const message: SlackChannelMessage = { text: "hello" };
    const posted: [string, SlackChannelMessage][] = [];
    const answered: string[] = [];
    const ports = {
      responder: { post: async (url: string) => void answered.push(url) },
      poster: { post: async (channel: string, m: SlackChannelMessage) => void posted.push([channel, m]) },
    };
    await deliverReply(ports, replyJobSchema.parse({ channel: "C0DIGEST1", message }));
    await deliverReply(
      ports,
      replyJobSchema.parse({
        response_url: "https://hooks.slack.com/commands/1/2",
        message: { response_type: "ephemeral", text: "hi" },
      }),
    );
    expect(posted).toEqual([["C0DIGEST1", message]]);
    expect(answered).toEqual(["https://hooks.slack.com/commands/1/2"]);
    await expect(
      deliverReply({ ...ports, poster: undefined }, { channel: "C0DIGEST1", message }),
    ).rejects.toBeInstanceOf(PermanentError);
    expect(replyJobSchema.safeParse({ channel: "C0DIGEST1" }).success).toBe(false);
  });
});
