import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { parseGapsRequest } from "../core/gaps/gaps-request";
import type { GapsResponse } from "../shared/api-schemas";
import { container } from "../shared/container";
import { gapJson, gapStore } from "../shared/gaps";
import { type HttpResult, httpErrorHandler, json, queryParameters } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";

/**
 * GET /gaps?since=&until=&channel=&limit=: the gaps of the latest scheduled computation (gaps-schedule),
 * filtered to those active in [since, until) with a side in one of the channels.
 */
async function gapsHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const request = parseGapsRequest(queryParameters(event));
  const store = gapStore(container());
  // A duration counts back from the requested end, or from the end of the computed window.
  const latest = await store.latestRun({ limit: 0 });
  const until = request.until ?? latest?.window.until;
  const since =
    request.since ??
    (request.sinceMs !== undefined && until ? new Date(until.getTime() - request.sinceMs) : undefined);
  const run = latest
    ? await store.latestRun({
        ...(since ? { since } : {}),
        ...(request.until ? { until: request.until } : {}),
        channels: request.channels,
        limit: request.limit,
      })
    : null;
  const body: GapsResponse = {
    computed_at: run?.computedAt.toISOString() ?? null,
    window: run ? { since: run.window.since.toISOString(), until: run.window.until.toISOString() } : null,
    gaps: run?.gaps.map(gapJson) ?? [],
  };
  return json(200, body);
}

export const handler = middy(gapsHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler());
