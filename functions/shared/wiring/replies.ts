import { SlackWebChannelPoster } from "../../adapters/slack/slack-channel-poster";
import { HttpSlackResponder } from "../../adapters/slack/slack-response-url";
import type { SlackChannelPoster, SlackResponder } from "../../core/ports";
import type { Config } from "../config";
import { Part } from "./part";

/** Posting to Slack from the replies queue: a slash command's answer, the gaps digest. */
export interface ReplyPorts {
  readonly slackResponder: SlackResponder;
  /** chat.postMessage with the bot token; undefined without SLACK_BOT_TOKEN. */
  readonly channelPoster: SlackChannelPoster | undefined;
}

export function createReplyPorts(cfg: Config): ReplyPorts {
  let slackResponder: SlackResponder | undefined;
  let channelPoster: SlackChannelPoster | undefined;
  return {
    get slackResponder() {
      slackResponder ??= new HttpSlackResponder();
      return slackResponder;
    },
    get channelPoster() {
      if (!cfg.SLACK_BOT_TOKEN) return undefined;
      channelPoster ??= new SlackWebChannelPoster(cfg.SLACK_BOT_TOKEN, { apiUrl: cfg.SLACK_API_URL });
      return channelPoster;
    },
  };
}

export const repliesPart = new Part(createReplyPorts);
export const replies = (): ReplyPorts => repliesPart.get();
