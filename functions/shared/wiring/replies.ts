import { HttpSlackResponder } from "../../adapters/slack/slack-response-url";
import type { SlackResponder } from "../../core/ports";
import { Part } from "./part";

/** Posting a slash command's answer to its response_url. */
export interface ReplyPorts {
  readonly slackResponder: SlackResponder;
}

export function createReplyPorts(): ReplyPorts {
  let slackResponder: SlackResponder | undefined;
  return {
    get slackResponder() {
      slackResponder ??= new HttpSlackResponder();
      return slackResponder;
    },
  };
}

export const repliesPart = new Part(createReplyPorts);
export const replies = (): ReplyPorts => repliesPart.get();
