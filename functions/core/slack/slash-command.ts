import * as z from "zod";
import { AppError, RetryableError, ValidationError } from "../errors";
import type { EnrichedMessage, EventQueue } from "../ports";
import type { CursorKey } from "../search/cursor";
import type { SearchResult } from "../search/search-messages";
import { parseSearchRequest, type SearchRequest, searchRequestSchema } from "../search/search-request";
import { zodDetails } from "../zod-details";
import { type SlackResponseMessage, slackResponseMessageSchema } from "./block-kit";
import { noticeMessage, SLACK_RESULT_LIMIT, searchReplyMessage } from "./search-blocks";

/**
 * `/trisearch <query>` in three steps, each its own function so the first is always fast:
 *   1. acceptSlashCommand (POST /slack/commands): validate the signed form, enqueue a search job,
 *      ack at once (Slack shows an error after 3 s);
 *   2. answerSlashCommand (commands queue): run the search for the user, build the Block Kit reply,
 *      enqueue it;
 *   3. the replies queue's consumer posts it to `response_url` (outside the VPC in AWS: the VPC has
 *      no route to Slack).
 */

/** The form Slack posts (api.slack.com/interactivity/slash-commands); other fields are ignored. */
export const slashCommandSchema = z
  .object({
    command: z.string().min(1).meta({ description: "The command typed, e.g. `/trisearch`" }),
    text: z.string().max(4000).default("").meta({ description: "Everything after the command: the query" }),
    user_id: z.string().min(1).meta({ description: "The invoking user: the search's viewer" }),
    team_id: z.string().min(1),
    channel_id: z.string().min(1),
    response_url: z.url({ protocol: /^https?$/ }).meta({ description: "Where the results are posted" }),
    user_name: z.string().optional(),
    channel_name: z.string().optional(),
    team_domain: z.string().optional(),
    trigger_id: z.string().optional(),
    api_app_id: z.string().optional(),
  })
  .meta({ id: "SlashCommand" });

/** The immediate answer to Slack: shown only to the invoking user. */
export const slashAckSchema = z
  .object({ response_type: z.literal("ephemeral"), text: z.string() })
  .meta({ id: "SlashCommandAck" });
export type SlashAck = z.infer<typeof slashAckSchema>;

/** Commands queue: what the search step needs (the form's secrets-free part). */
export const slashSearchJobSchema = z.object({
  query: z.string().min(1),
  user_id: z.string().min(1),
  team_id: z.string().min(1),
  channel_id: z.string().min(1),
  response_url: z.url(),
  page_url: z.url().optional(),
});
export type SlashSearchJob = z.infer<typeof slashSearchJobSchema>;

/** Replies queue: a finished message for one response_url. */
export const slashReplyJobSchema = z.object({
  response_url: z.url(),
  message: slackResponseMessageSchema,
});
type SlashReplyJob = z.infer<typeof slashReplyJobSchema>;

export const SLASH_HELP =
  'Search team messages: `/trisearch <query>`, e.g. `/trisearch oauth "token refresh" -mobile`';

/**
 * Step 1. Validates the form, refuses a response_url outside `allowedResponseUrlPrefix` (only
 * Slack's hooks in production: the reply step must not be pointed anywhere else), answers help for
 * an empty query and a query error at once, and enqueues everything else.
 */
export async function acceptSlashCommand(
  deps: { readonly queue: EventQueue },
  form: unknown,
  opts: { readonly allowedResponseUrlPrefix: string; readonly pageUrl?: string | undefined },
): Promise<SlashAck> {
  const parsed = slashCommandSchema.safeParse(form);
  if (!parsed.success) throw new ValidationError("Invalid slash command", zodDetails(parsed.error.issues));
  const cmd = parsed.data;
  if (!cmd.response_url.startsWith(opts.allowedResponseUrlPrefix)) {
    throw new ValidationError("Invalid slash command", [
      { path: "response_url", message: `must start with ${opts.allowedResponseUrlPrefix}` },
    ]);
  }
  const query = cmd.text.trim();
  if (query === "") return { response_type: "ephemeral", text: SLASH_HELP };
  // The search API's own rule for q, so the user hears about a bad query now, not never.
  const q = searchRequestSchema.shape.q.safeParse(query);
  if (!q.success) {
    return {
      response_type: "ephemeral",
      text: `Cannot search for that: ${q.error.issues[0]?.message ?? "invalid query"}`,
    };
  }
  const job: SlashSearchJob = {
    query,
    user_id: cmd.user_id,
    team_id: cmd.team_id,
    channel_id: cmd.channel_id,
    response_url: cmd.response_url,
    ...(opts.pageUrl ? { page_url: opts.pageUrl } : {}),
  };
  try {
    await deps.queue.send(JSON.stringify(job), { userId: cmd.user_id, teamId: cmd.team_id });
  } catch (err) {
    throw new RetryableError("Could not queue the search", err);
  }
  return { response_type: "ephemeral", text: `Searching for "${query.slice(0, 200)}"…` };
}

/**
 * Step 2. Searches as the invoking user (the viewer) and enqueues the reply: the results, or a
 * notice that search is unavailable (the user is told instead of left waiting). Throws only when the
 * reply cannot be queued, so the queue retries the job.
 */
export async function answerSlashCommand(
  deps: {
    readonly search: (request: SearchRequest) => Promise<SearchResult>;
    readonly replies: EventQueue;
    /** The search API's cursor key: the reply's hits come from a real first page. */
    readonly cursorKey: CursorKey;
    /** The Open button's link (slackPermalink with the configured workspace domain). */
    readonly permalink?: (message: EnrichedMessage) => string | null;
    readonly onSearchFailure?: (err: AppError) => void;
  },
  job: SlashSearchJob,
): Promise<SlackResponseMessage> {
  // The Slack user who typed the command is the viewer: they find only what they may read.
  const request: SearchRequest = parseSearchRequest(
    { q: job.query, limit: SLACK_RESULT_LIMIT },
    deps.cursorKey,
    () => ({ kind: "viewer", viewer: { userId: job.user_id, teamId: job.team_id } }),
  );
  let message: SlackResponseMessage;
  try {
    const result = await deps.search(request);
    message = searchReplyMessage({
      query: job.query,
      hits: result.hits.map((h) => ({ message: h.message, permalink: deps.permalink?.(h.message) ?? null })),
      more: result.nextCursor !== null,
      degraded: result.degraded,
      ...(job.page_url ? { pageUrl: job.page_url } : {}),
    });
  } catch (err) {
    const appError =
      err instanceof AppError ? err : new AppError("internal_error", String(err), { cause: err });
    deps.onSearchFailure?.(appError);
    message = noticeMessage(
      appError.retryable
        ? "Search is unavailable right now; please try again in a minute."
        : "Search failed; the error was logged.",
    );
  }
  const reply: SlashReplyJob = {
    response_url: job.response_url,
    message: slackResponseMessageSchema.parse(message),
  };
  await deps.replies.send(JSON.stringify(reply), { userId: job.user_id });
  return message;
}
