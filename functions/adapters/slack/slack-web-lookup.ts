import {
  type ConversationsListResponse,
  type ConversationsMembersResponse,
  type UsersListResponse,
  WebAPIPlatformError,
  type WebClient,
} from "@slack/web-api";
import type { ConversationPatch, DirectoryLookup, DirectoryUser } from "../../core/directory/directory";
import type { SlackDirectorySource, SlackMembershipSource } from "../../core/slack/membership-sync";
import { slackConversation, slackUser } from "../../core/slack/slack-directory";
import { type SlackWebClientOptions, slackWebClient } from "./slack-web-client";

/** Errors that mean "no such id for this token": the id stays an id. */
const NOT_FOUND = new Set(["user_not_found", "users_not_found", "channel_not_found", "not_in_channel"]);

/**
 * users.info, conversations.info, and the scheduled sync's auth.test, users.list, conversations.list
 * and conversations.members through @slack/web-api (rate limits and retries are its job).
 */
export class SlackWebLookup implements DirectoryLookup, SlackMembershipSource, SlackDirectorySource {
  private readonly client: WebClient;

  constructor(token: string, opts: SlackWebClientOptions = {}) {
    // After the client's retries an id it could not look up stays an id.
    this.client = slackWebClient(token, opts);
  }

  async user(id: string): Promise<DirectoryUser | null> {
    const res = await this.call(() => this.client.users.info({ user: id }));
    return res ? slackUser(res.user) : null;
  }

  async conversation(id: string): Promise<ConversationPatch | null> {
    const res = await this.call(() => this.client.conversations.info({ channel: id }));
    return res ? slackConversation(res.channel) : null;
  }

  async teamId(): Promise<string> {
    const res = await this.client.auth.test();
    if (!res.team_id) throw new Error("auth.test returned no team_id");
    return res.team_id;
  }

  async members(conversationId: string): Promise<string[]> {
    const out: string[] = [];
    const pages = this.pages<ConversationsMembersResponse>("conversations.members", {
      channel: conversationId,
      limit: 1000,
    });
    for await (const res of pages) out.push(...(res.members ?? []));
    return out;
  }

  async directoryUsers(): Promise<DirectoryUser[]> {
    const out: DirectoryUser[] = [];
    for await (const res of this.pages<UsersListResponse>("users.list", { limit: 200 })) {
      for (const m of res.members ?? []) {
        const user = slackUser(m);
        if (user) out.push(user);
      }
    }
    return out;
  }

  async directoryConversations(): Promise<ConversationPatch[]> {
    const out: ConversationPatch[] = [];
    const pages = this.pages<ConversationsListResponse>("conversations.list", {
      types: "public_channel,private_channel,mpim,im",
      limit: 200,
    });
    for await (const res of pages) {
      for (const c of res.channels ?? []) {
        const conversation = slackConversation(c);
        if (conversation) out.push(conversation);
      }
    }
    return out;
  }

  /** A cursor-paged method's pages, through the client's own paginate (next_cursor until empty). */
  private async *pages<R>(method: string, options: Record<string, unknown>): AsyncGenerator<R> {
    for await (const page of this.client.paginate(method, options)) yield page as R;
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
