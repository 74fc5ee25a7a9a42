import middy from "@middy/core";
import { type HttpResult, httpErrorHandler, json } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { openApiDocument } from "../shared/openapi";

/** GET /openapi.json: the contract, rendered from the zod schemas the other handlers validate with. */
async function openApiHandler(): Promise<HttpResult> {
  return json(200, openApiDocument());
}

export const handler = middy(openApiHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler());
