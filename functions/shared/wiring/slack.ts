import { SlackWebLookup } from "../../adapters/slack/slack-web-lookup";
import type { DirectoryLookup } from "../../core/directory/directory";
import type { SlackDirectorySource, SlackMembershipSource } from "../../core/slack/membership-sync";
import type { Config } from "../config";
import { Part } from "./part";

/** Slack's Web API (the bot token): ids the directory lacks, member lists for the resync. */
export interface SlackPorts {
  /** Undefined without SLACK_BOT_TOKEN. */
  readonly directoryLookup: DirectoryLookup | undefined;
  /** Slack's member lists for the scheduled membership resync; undefined without SLACK_BOT_TOKEN. */
  readonly slackMembership: SlackMembershipSource | undefined;
  /** Slack's users and conversations for the scheduled directory refresh; undefined without SLACK_BOT_TOKEN. */
  readonly slackDirectory: SlackDirectorySource | undefined;
}

export function createSlackPorts(cfg: Config): SlackPorts {
  let slackWeb: SlackWebLookup | undefined;
  const web = (token: string) => {
    slackWeb ??= new SlackWebLookup(token, { apiUrl: cfg.SLACK_API_URL });
    return slackWeb;
  };
  return {
    get directoryLookup() {
      return cfg.SLACK_BOT_TOKEN ? web(cfg.SLACK_BOT_TOKEN) : undefined;
    },
    get slackMembership() {
      return cfg.SLACK_BOT_TOKEN ? web(cfg.SLACK_BOT_TOKEN) : undefined;
    },
    get slackDirectory() {
      return cfg.SLACK_BOT_TOKEN ? web(cfg.SLACK_BOT_TOKEN) : undefined;
    },
  };
}

export const slackPart = new Part(createSlackPorts);
export const slack = (): SlackPorts => slackPart.get();
