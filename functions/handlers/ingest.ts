import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { ValidationError } from "../core/errors";
import { deleteMessage, ingestMessages } from "../core/ingest";
import { parseIngestRequest } from "../core/ingest-request";
import { container } from "../shared/container";
import { type HttpResult, httpErrorHandler, json, parseJsonBody } from "../shared/http";

/** POST /messages (batch upsert) and DELETE /messages/{id} (soft delete). */
async function ingestHandler(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const c = container();
  const deps = { store: c.store, outbox: c.store, publisher: c.publisher, warn: c.warn };
  if (event.requestContext.http.method === "DELETE") {
    // Plain digits only: Number() would read "1e3" as 1000 and " 7" as 7.
    const raw = event.pathParameters?.id ?? "";
    const id = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new ValidationError("Invalid message id", [
        { path: "id", message: "must be a positive integer" },
      ]);
    }
    const deleted = await deleteMessage(deps, id);
    return json(202, {
      message_id: id,
      status: deleted.changed ? "deleted" : "already_deleted",
      version: deleted.version,
    });
  }
  const request = parseIngestRequest(parseJsonBody(event));
  const outcomes = await ingestMessages(deps, request.source, request.messages);
  return json(202, {
    accepted: outcomes.map((o) => ({ external_id: o.externalId, message_id: o.messageId, status: o.status })),
  });
}

export const handler = middy(ingestHandler).use(httpErrorHandler());
