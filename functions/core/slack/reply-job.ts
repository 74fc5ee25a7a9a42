import * as z from "zod";
import { PermanentError } from "../errors";
import type { SlackChannelPoster, SlackResponder } from "../ports";
import { slackChannelMessageSchema } from "./block-kit";
import { slashReplyJobSchema } from "./slash-command";

/**
 * A message for a Slack channel (chat.postMessage with the bot token: the gaps digest). The
 * slack-reply function posts it: in AWS the only place with a route to Slack.
 */
export const channelPostJobSchema = z.strictObject({
  channel: z.string().min(1).max(255),
  message: slackChannelMessageSchema,
});

/** A replies-queue record: a slash command's answer for its response_url, or a post to a channel (the gaps digest). */
export const replyJobSchema = z.union([slashReplyJobSchema, channelPostJobSchema]);
export type ReplyJob = z.infer<typeof replyJobSchema>;

/**
 * Delivers one reply. A channel post without a bot token can never succeed: permanent, so the record
 * waits in the dead-letter queue (redriven once SLACK_BOT_TOKEN is set) instead of looping.
 */
export async function deliverReply(
  deps: { readonly responder: SlackResponder; readonly poster: SlackChannelPoster | undefined },
  job: ReplyJob,
): Promise<void> {
  if ("response_url" in job) return deps.responder.post(job.response_url, job.message);
  if (!deps.poster)
    throw new PermanentError("slack_bot_token_missing", `no SLACK_BOT_TOKEN to post to ${job.channel}`);
  return deps.poster.post(job.channel, job.message);
}
