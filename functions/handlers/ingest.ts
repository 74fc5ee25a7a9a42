import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { deleteMessage, ingestMessages } from "../core/ingest";
import { parseIngestRequest, parseMessageIdParams } from "../core/ingest-request";
import type { DeleteResponse, IngestResponse } from "../shared/api-schemas";
import { type HttpResult, httpErrorHandler, json, parseJsonBody } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { postgres } from "../shared/wiring/postgres";
import { queues } from "../shared/wiring/queues";
import { runtime } from "../shared/wiring/runtime";

/** POST /messages (batch upsert) and DELETE /messages/{id} (soft delete). */
async function ingestHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const pg = postgres();
  const deps = { store: pg.store, outbox: pg.store, publisher: queues().publisher, warn: runtime().warn };
  if (event.requestContext.http.method === "DELETE") {
    const { id } = parseMessageIdParams(event.pathParameters ?? {});
    const deleted = await deleteMessage(deps, id);
    const body: DeleteResponse = {
      message_id: id,
      status: deleted.changed ? "deleted" : "already_deleted",
      version: deleted.version,
    };
    return json(202, body);
  }
  const request = parseIngestRequest(parseJsonBody(event));
  const outcomes = await ingestMessages(
    { ...deps, access: pg.access },
    request.source,
    request.messages,
    request.visibility,
  );
  const body: IngestResponse = {
    accepted: outcomes.map((o) => ({ external_id: o.externalId, message_id: o.messageId, status: o.status })),
  };
  return json(202, body);
}

export const handler = middy(ingestHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler());
