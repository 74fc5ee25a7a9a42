import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlackWebChannelPoster } from "../../../functions/adapters/slack/slack-channel-poster";
import { PermanentError } from "../../../functions/core/errors";
import { type SlackWebApiStandIn, startSlackWebApi } from "../../helpers/slack-web-api";

const TOKEN = "xoxb-poster";

describe("SlackWebChannelPoster against a stand-in of Slack's Web API", () => {
  let slack: SlackWebApiStandIn;
  beforeAll(async () => {
    slack = await startSlackWebApi(TOKEN);
    slack.conversations.set("C0DIGEST1", { id: "C0DIGEST1", name: "eng-leads" });
  });
  afterAll(async () => slack?.close());
  const fast = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 20 };

  it("posts text and blocks with the bot token, after a 429 too", async () => {
    slack.rateLimitFirst["chat.postMessage"] = 1;
    const poster = new SlackWebChannelPoster(TOKEN, { apiUrl: slack.url, retryConfig: fast });
    const blocks = [{ type: "section" as const, text: { type: "mrkdwn" as const, text: "*1 new gap*" } }];
    await poster.post("C0DIGEST1", { text: "1 new gap", blocks });
    expect(slack.posts).toEqual([{ channel: "C0DIGEST1", text: "1 new gap", blocks }]);
    const calls = slack.calls.filter((c) => c.method === "chat.postMessage");
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls.every((c) => c.token === TOKEN)).toBe(true);
  });

  it("a channel Slack does not know, or a revoked token, is permanent", async () => {
    const poster = new SlackWebChannelPoster(TOKEN, { apiUrl: slack.url, retryConfig: fast });
    await expect(poster.post("C0NOWHERE", { text: "x" })).rejects.toBeInstanceOf(PermanentError);
    const wrong = new SlackWebChannelPoster("xoxb-wrong", { apiUrl: slack.url, retryConfig: fast });
    await expect(wrong.post("C0DIGEST1", { text: "x" })).rejects.toBeInstanceOf(PermanentError);
  });
});
