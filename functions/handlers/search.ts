import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { searchWithNames } from "../core/directory/search-with-names";
import { parseSearchRequest } from "../core/search/search-request";
import { slackPermalink } from "../core/slack/slack-permalink";
import { container } from "../shared/container";
import { type HttpResult, httpErrorHandler, json, parseJsonBody, queryParameters } from "../shared/http";
import { logger } from "../shared/logger";

/** GET /search?q=... and POST /search {q, ...}: same parameters, same response. */
async function searchHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const input = event.requestContext.http.method === "POST" ? parseJsonBody(event) : queryParameters(event);
  const c = container();
  const request = parseSearchRequest(input, c.cursorKey);
  const result = await searchWithNames(
    {
      names: c.directory,
      mentions: c.directory,
      keyword: c.keywordIndex(),
      // The active collection and its model: during a model switch, the old one until the new one is complete.
      semantic: () => c.collections.semanticLeg(),
      messages: c.store,
      onStaleHits: (_leg, ids) =>
        logger.warn("search hits without a live row", { count: ids.length, ids: ids.slice(0, 20) }),
      onLegFailure: (leg, err) => logger.error("search leg failed", { leg, code: err.code, error: err }),
    },
    request,
    {
      rrfK: c.config.SEARCH_RRF_K,
      cursorKey: c.cursorKey,
      ...(c.config.SEARCH_LEG_WINDOW ? { window: c.config.SEARCH_LEG_WINDOW } : {}),
    },
  );
  return json(200, {
    strategy: result.strategy,
    took_ms: result.tookMs,
    results: result.hits.map((h) => ({
      message_id: h.message.id,
      external_id: h.message.externalId,
      content: h.message.content,
      author: h.message.author,
      author_name: h.message.authorName ?? h.message.author,
      channel: h.message.channel,
      channel_name: h.message.channelName ?? h.message.channel,
      timestamp: h.message.timestamp.toISOString(),
      thread_id: h.message.threadId,
      source: h.message.source.name,
      source_type: h.message.source.type,
      ...(h.message.source.type === "slack"
        ? { permalink: slackPermalink(h.message, c.config.SLACK_WORKSPACE_DOMAIN) }
        : {}),
      score: h.score,
      ranks: h.ranks,
      ...(request.explain ? { leg_scores: h.legScores } : {}),
    })),
    next_cursor: result.nextCursor,
    ...(result.degraded.length > 0 ? { degraded: result.degraded } : {}),
  });
}

export const handler = middy(searchHandler).use(httpErrorHandler());
