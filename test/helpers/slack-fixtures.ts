import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { slackSignature } from "../../functions/core/slack/slack-signature";

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/slack");

export type SlackFixtureName =
  | "url-verification"
  | "message"
  | "message-changed"
  | "message-deleted"
  | "thread-broadcast"
  | "bot-message"
  | "channel-join";

// Loose on purpose: tests override fields of Slack's documented payloads.
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON is edited freely in tests
export type SlackPayload = Record<string, any>;

/** A fresh copy of a documented Slack payload from test/fixtures/slack. */
export function slackFixture(name: SlackFixtureName): SlackPayload {
  return JSON.parse(readFileSync(path.join(DIR, `${name}.json`), "utf8")) as SlackPayload;
}

export function signingExample(): {
  signingSecret: string;
  timestamp: string;
  body: string;
  signature: string;
} {
  return JSON.parse(readFileSync(path.join(DIR, "signing-example.json"), "utf8"));
}

/** The headers Slack would send for `body`, signed at `timestamp` (default: now). */
export function slackHeaders(
  secret: string,
  body: string | Buffer,
  timestamp = String(Math.floor(Date.now() / 1000)),
): Record<string, string> {
  return {
    "x-slack-request-timestamp": timestamp,
    "x-slack-signature": slackSignature(secret, timestamp, body),
  };
}
