import { describe, expect, it } from "vitest";
import { RetryableError, ValidationError } from "../../../functions/core/errors";
import type { EnrichedMessage } from "../../../functions/core/ports";
import type { SearchResult } from "../../../functions/core/search/search-messages";
import type { SearchRequest } from "../../../functions/core/search/search-request";
import { slackResponseMessageSchema } from "../../../functions/core/slack/block-kit";
import { searchReplyMessage, snippet } from "../../../functions/core/slack/search-blocks";
import {
  acceptSlashCommand,
  answerSlashCommand,
  SLASH_HELP,
  type SlashSearchJob,
  slashReplyJobSchema,
  slashSearchJobSchema,
} from "../../../functions/core/slack/slash-command";

class RecordingQueue {
  readonly sent: { body: string; attributes: Readonly<Record<string, string>> }[] = [];
  constructor(private readonly fail = false) {}
  async send(body: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.fail) throw new Error("queue down");
    this.sent.push({ body, attributes });
  }
}

const HOOKS = "https://hooks.slack.com/";
const form = (fields: Record<string, string> = {}) => ({
  command: "/trisearch",
  text: "oauth refresh",
  user_id: "U1",
  team_id: "T1",
  channel_id: "C1",
  response_url: `${HOOKS}commands/T1/1/x`,
  ...fields,
});

const message = (id: number, over: Partial<EnrichedMessage> = {}): EnrichedMessage => ({
  id,
  externalId: `e${id}`,
  content: `message ${id} about <b>OAuth</b> & tokens`,
  author: `user${id}@company.com`,
  channel: "#auth",
  timestamp: new Date("2025-12-01T10:00:00Z"),
  threadId: null,
  source: { type: "slack", name: "acme" },
  metadata: {},
  ...over,
});

const result = (hits: EnrichedMessage[], more = false): SearchResult => ({
  strategy: "hybrid",
  tookMs: 5,
  hits: hits.map((m) => ({
    message: m,
    score: 0.03,
    ranks: { bm25: 1, semantic: 1 },
    legScores: { bm25: 1, semantic: 0.5 },
    highlights: [],
  })),
  nextCursor: more ? "c" : null,
  degraded: [],
  staleHits: 0,
});

describe("acceptSlashCommand (the ack)", () => {
  it("queues the query with the invoking user and answers at once", async () => {
    const queue = new RecordingQueue();
    const ack = await acceptSlashCommand({ queue }, form(), {
      allowedResponseUrlPrefix: HOOKS,
      pageUrl: "http://127.0.0.1:3000/",
    });
    expect(ack).toEqual({ response_type: "ephemeral", text: 'Searching for "oauth refresh"…' });
    expect(queue.sent).toHaveLength(1);
    const job = slashSearchJobSchema.parse(JSON.parse(queue.sent[0]!.body));
    expect(job).toEqual({
      query: "oauth refresh",
      user_id: "U1",
      team_id: "T1",
      channel_id: "C1",
      response_url: `${HOOKS}commands/T1/1/x`,
      page_url: "http://127.0.0.1:3000/",
    });
  });

  it("answers help for an empty query and a query error without queueing", async () => {
    const queue = new RecordingQueue();
    expect(
      await acceptSlashCommand({ queue }, form({ text: "  " }), { allowedResponseUrlPrefix: HOOKS }),
    ).toEqual({
      response_type: "ephemeral",
      text: SLASH_HELP,
    });
    const long = await acceptSlashCommand({ queue }, form({ text: "x".repeat(1001) }), {
      allowedResponseUrlPrefix: HOOKS,
    });
    expect(long.text).toMatch(/^Cannot search for that: must be at most 1000 characters/);
    expect(queue.sent).toHaveLength(0);
  });

  it("refuses a response_url outside the allowed prefix, naming the field", async () => {
    const queue = new RecordingQueue();
    const err = await acceptSlashCommand({ queue }, form({ response_url: "http://169.254.169.254/latest" }), {
      allowedResponseUrlPrefix: HOOKS,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toEqual([
      { path: "response_url", message: `must start with ${HOOKS}` },
    ]);
    expect(queue.sent).toHaveLength(0);
  });

  it("a queue failure is retryable (503), not a silent loss", async () => {
    await expect(
      acceptSlashCommand({ queue: new RecordingQueue(true) }, form(), { allowedResponseUrlPrefix: HOOKS }),
    ).rejects.toBeInstanceOf(RetryableError);
  });
});

describe("answerSlashCommand (the search step)", () => {
  const job: SlashSearchJob = {
    query: "oauth",
    user_id: "U42",
    team_id: "T7",
    channel_id: "C1",
    response_url: `${HOOKS}x`,
    page_url: "http://127.0.0.1:3000/",
  };

  it("searches as the invoking user (the viewer) and queues a Block Kit reply for its response_url", async () => {
    const replies = new RecordingQueue();
    const seen: SearchRequest[] = [];
    await answerSlashCommand(
      {
        search: async (req) => {
          seen.push(req);
          return result([message(1), message(2)], true);
        },
        replies,
        cursorKey: "k".repeat(32),
      },
      job,
    );
    expect(seen[0]?.access).toEqual({ kind: "viewer", viewer: { userId: "U42", teamId: "T7" } });
    expect(seen[0]?.limit).toBe(5);
    const reply = slashReplyJobSchema.parse(JSON.parse(replies.sent[0]!.body));
    expect(reply.response_url).toBe(`${HOOKS}x`);
    expect(reply.message.text).toBe('2+ results for "oauth"');
  });

  it("tells the user when search is down instead of leaving them waiting", async () => {
    const replies = new RecordingQueue();
    const failures: string[] = [];
    const msg = await answerSlashCommand(
      {
        search: async () => {
          throw new RetryableError("both legs down");
        },
        replies,
        cursorKey: "k".repeat(32),
        onSearchFailure: (e) => failures.push(e.code),
      },
      job,
    );
    expect(msg.text).toMatch(/unavailable/);
    expect(failures).toEqual(["unavailable"]);
    expect(replies.sent).toHaveLength(1);
  });
});

describe("the Block Kit reply", () => {
  it("shows author, channel, time, an escaped snippet, the thread, a permalink and a More link", () => {
    const msg = searchReplyMessage({
      query: "oauth <script>",
      hits: [
        {
          message: message(1, { threadId: "C1:1700.1", authorName: "Alice" }),
          permalink: "https://acme.slack.com/archives/C1/p1",
        },
        { message: message(2), permalink: "javascript:alert(1)" },
      ],
      more: false,
      degraded: ["semantic"],
      pageUrl: "http://127.0.0.1:3000/",
    });
    slackResponseMessageSchema.parse(msg);
    const [summary, , first, , second, context, actions] = msg.blocks ?? [];
    expect(summary).toMatchObject({ text: { text: "*2 results* for _oauth &lt;script&gt;_" } });
    expect(first).toMatchObject({
      type: "section",
      accessory: { type: "button", url: "https://acme.slack.com/archives/C1/p1" },
    });
    const text = first?.type === "section" ? (first.text?.text ?? "") : "";
    expect(text).toContain(
      "*Alice* in *#auth* · <!date^1764583200^{date_short_pretty} {time}|2025-12-01T10:00:00.000Z>",
    );
    expect(text).toContain("message 1 about &lt;b&gt;OAuth&lt;/b&gt; &amp; tokens");
    expect(text).toContain("_in thread C1:1700.1_");
    // A permalink that is not http(s) is dropped, never rendered as a button.
    expect(second).not.toHaveProperty("accessory");
    expect(context).toMatchObject({
      type: "context",
      elements: [{ text: expect.stringContaining("semantic") }],
    });
    expect(actions).toMatchObject({
      type: "actions",
      elements: [{ url: "http://127.0.0.1:3000/?q=oauth+%3Cscript%3E", text: { text: "More results" } }],
    });
  });

  it("stays inside Slack's limits with long content and highlights", () => {
    const long = "word ".repeat(2000);
    const msg = searchReplyMessage({
      query: "q".repeat(1000),
      hits: Array.from({ length: 5 }, (_, i) => ({
        message: message(i + 1, { content: long, author: "a".repeat(320) }),
        highlights: ["before <mark>match</mark> after", "<mark>*bold*</mark>"],
      })),
      more: true,
      degraded: [],
    });
    expect(() => slackResponseMessageSchema.parse(msg)).not.toThrow();
    const first = msg.blocks?.[2];
    expect(first?.type === "section" && first.text?.text).toContain("before *match* after");
  });

  it("the schema rejects what Slack rejects", () => {
    const ok = searchReplyMessage({ query: "x", hits: [{ message: message(1) }], more: false, degraded: [] });
    expect(slackResponseMessageSchema.safeParse(ok).success).toBe(true);
    const tooLong = {
      ...ok,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "x".repeat(3001) } }],
    };
    expect(slackResponseMessageSchema.safeParse(tooLong).success).toBe(false);
    const unknownBlock = { ...ok, blocks: [{ type: "carousel" }] };
    expect(slackResponseMessageSchema.safeParse(unknownBlock).success).toBe(false);
    const tooMany = { ...ok, blocks: Array.from({ length: 51 }, () => ({ type: "divider" })) };
    expect(slackResponseMessageSchema.safeParse(tooMany).success).toBe(false);
    const emptySection = { ...ok, blocks: [{ type: "section" }] };
    expect(slackResponseMessageSchema.safeParse(emptySection).success).toBe(false);
  });

  it("no hits is a plain notice; snippets cut at a word", () => {
    expect(searchReplyMessage({ query: "zz", hits: [], more: false, degraded: [] })).toEqual({
      response_type: "ephemeral",
      text: 'No results for "zz"',
    });
    expect(snippet("alpha beta gamma delta", 12)).toBe("alpha beta…");
  });
});
