import { WebAPIPlatformError, type WebClient } from "@slack/web-api";
import { PermanentError, RetryableError } from "../../core/errors";
import type { SlackChannelPoster } from "../../core/ports";
import type { SlackChannelMessage } from "../../core/slack/block-kit";
import { type SlackWebClientOptions, slackWebClient } from "./slack-web-client";

/** Errors no retry can mend: the channel, the token or the message is wrong. */
const PERMANENT = new Set([
  "channel_not_found",
  "not_in_channel",
  "is_archived",
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "missing_scope",
  "invalid_blocks",
  "msg_too_long",
  "no_text",
  "restricted_action",
  "token_expired",
  "not_allowed_token_type",
  "invalid_arguments",
  "invalid_blocks_format",
  "no_permission",
  "access_denied",
]);

/**
 * chat.postMessage with the bot token (@slack/web-api: rate limits and retries). A platform error
 * that names a wrong channel, token or message is permanent (the record goes to the dead-letter
 * queue); anything else is retryable (the replies queue redelivers it).
 */
export class SlackWebChannelPoster implements SlackChannelPoster {
  private readonly client: WebClient;

  constructor(token: string, opts: SlackWebClientOptions = {}) {
    // Its retries fit the replies function's 30 s; the queue redelivers after that.
    this.client = slackWebClient(token, opts);
  }

  async post(channel: string, message: SlackChannelMessage): Promise<void> {
    try {
      await this.client.chat.postMessage({
        channel,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (err) {
      if (err instanceof WebAPIPlatformError && PERMANENT.has(err.data.error)) {
        throw new PermanentError(
          "slack_post_rejected",
          `chat.postMessage to ${channel}: ${err.data.error}`,
          err,
        );
      }
      throw new RetryableError(`chat.postMessage to ${channel} failed`, err);
    }
  }
}
