import { LogLevel, type RetryOptions, WebAPIPlatformError, WebClient } from "@slack/web-api";
import type { ConversationPatch, DirectoryLookup, DirectoryUser } from "../../core/directory/directory";
import { slackConversation, slackUser } from "../../core/slack/slack-directory";

/** Errors that mean "no such id for this token": the id stays an id. */
const NOT_FOUND = new Set(["user_not_found", "users_not_found", "channel_not_found", "not_in_channel"]);

/**
 * A Lambda has minutes, not Slack's default half hour of retries: a few attempts, each waiting at
 * least what a 429's Retry-After asks (the client pauses its queue for it), then the id stays an id.
 */
const LOOKUP_RETRIES: RetryOptions = { retries: 2, factor: 2, minTimeout: 1_000, maxTimeout: 5_000 };

/** users.info and conversations.info through @slack/web-api (rate limits and retries are its job). */
export class SlackWebLookup implements DirectoryLookup {
  private readonly client: WebClient;

  constructor(token: string, opts: { apiUrl?: string | undefined; retryConfig?: RetryOptions } = {}) {
    this.client = new WebClient(token, {
      ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
      retryConfig: opts.retryConfig ?? LOOKUP_RETRIES,
      logLevel: LogLevel.ERROR,
      timeout: 5_000,
    });
  }

  async user(id: string): Promise<DirectoryUser | null> {
    const res = await this.call(() => this.client.users.info({ user: id }));
    return res ? slackUser(res.user) : null;
  }

  async conversation(id: string): Promise<ConversationPatch | null> {
    const res = await this.call(() => this.client.conversations.info({ channel: id }));
    return res ? slackConversation(res.channel) : null;
  }

  private async call<T>(request: () => Promise<T>): Promise<T | null> {
    try {
      return await request();
    } catch (err) {
      if (err instanceof WebAPIPlatformError && NOT_FOUND.has(err.data.error)) return null;
      throw err;
    }
  }
}
