import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { EnrichedMessage } from "../core/ports";
import { parseSearchRequest } from "../core/search/search-request";
import { slackPermalink } from "../core/slack/slack-permalink";
import type { SearchResponse } from "../shared/api-schemas";
import { container } from "../shared/container";
import { type HttpResult, httpErrorHandler, json, parseJsonBody, queryParameters } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { searchService } from "../shared/search-service";
import { accessFor } from "../shared/viewer";

/** A message shown beside a hit (its thread's parent, its context). */
const brief = (m: EnrichedMessage) => ({
  message_id: m.id,
  external_id: m.externalId,
  author: m.author,
  author_name: m.authorName ?? m.author,
  content: m.content,
  timestamp: m.timestamp.toISOString(),
});

/** GET /search?q=... and POST /search {q, ...}: same parameters, same response. */
async function searchHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const input = event.requestContext.http.method === "POST" ? parseJsonBody(event) : queryParameters(event);
  const c = container();
  const request = parseSearchRequest(input, c.cursorKey, accessFor(event, c.config));
  const result = await searchService(c)(request);
  const body: SearchResponse = {
    strategy: result.strategy,
    took_ms: result.tookMs,
    results: result.hits.map((h) => ({
      message_id: h.message.id,
      external_id: h.message.externalId,
      content: h.message.content,
      highlights: h.highlights,
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
      ...(h.thread
        ? {
            thread: {
              parent: h.thread.parent ? brief(h.thread.parent) : null,
              reply_count: h.thread.replyCount,
              other_matching_ids: [...h.thread.otherMatchingIds],
            },
          }
        : {}),
      ...(h.context
        ? { context: { before: h.context.before.map(brief), after: h.context.after.map(brief) } }
        : {}),
      ...(request.explain
        ? { leg_scores: h.legScores, ...(h.contributions ? { contributions: h.contributions } : {}) }
        : {}),
    })),
    next_cursor: result.nextCursor,
    ...(result.degraded.length > 0 ? { degraded: result.degraded } : {}),
    ...(result.applied ? { applied: result.applied } : {}),
    ...(result.notApplied.length > 0 ? { not_applied: [...result.notApplied] } : {}),
  };
  return json(200, body);
}

export const handler = middy(searchHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler());
