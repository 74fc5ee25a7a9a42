import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { parseGapsRequest } from "../core/gaps/gaps-request";
import { readGaps } from "../core/gaps/read-gaps";
import type { GapsResponse } from "../shared/api-schemas";
import { gapJson } from "../shared/gaps";
import { type HttpResult, httpErrorHandler, json, queryParameters } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { accessFor } from "../shared/viewer";
import { postgres } from "../shared/wiring/postgres";
import { runtime } from "../shared/wiring/runtime";

/** GET /gaps?since=&until=&channel=&limit=: the gaps of the latest scheduled computation (gaps-schedule). */
async function gapsHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const request = parseGapsRequest(queryParameters(event));
  const pg = postgres();
  const run = await readGaps(
    { store: pg.gapStore, visibility: pg.access },
    request,
    accessFor(event, runtime().config)(request.viewer),
  );
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
