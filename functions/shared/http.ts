import type middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { AppError, toAppError, UnsupportedMediaTypeError, ValidationError } from "../core/errors";
import { logger } from "./logger";

export type HttpResult = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** The raw request body exactly as received (API Gateway base64-encodes binary payloads). */
export function rawBody(event: APIGatewayProxyEventV2): string {
  if (!event.body) return "";
  return event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
}

/** The body's bytes as received, for signatures (no utf8 round trip of a base64 payload). */
export function rawBodyBytes(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
}

/** application/json or application/*+json, any parameters (charset). */
function isJsonContentType(contentType: string | undefined): boolean {
  const mime = (contentType?.split(";")[0] ?? "").trim().toLowerCase();
  return mime === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mime);
}

/**
 * The JSON body of a POST. Any other content type is a 415: a browser's cross-origin "simple"
 * POST (text/plain, form data) must not be able to write to the API.
 */
export function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  const contentType = event.headers?.["content-type"];
  if (!isJsonContentType(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be application/json (got ${contentType ? JSON.stringify(contentType.slice(0, 100)) : "none"})`,
    );
  }
  const text = rawBody(event);
  if (text.trim() === "") throw new ValidationError("Request body is required (JSON)");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`Request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The query string with repeated keys kept apart. API Gateway's queryStringParameters joins them
 * with commas, which would cut a JSON-array value (`channel=["#a","#b"]&channel=#c`) apart.
 */
export function queryParameters(
  event: APIGatewayProxyEventV2,
): Record<string, string | string[] | undefined> {
  if (!event.rawQueryString) return event.queryStringParameters ?? {};
  const params: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of new URLSearchParams(event.rawQueryString)) {
    const prev = params[key];
    params[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return params;
}

/**
 * The one place errors become HTTP responses: AppErrors keep their status and code, anything
 * else is a 500 whose details stay in the log.
 */
export function httpErrorHandler(): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return { onError: errorToHttpResponse };
}

async function errorToHttpResponse(
  request: middy.Request<APIGatewayProxyEventV2, HttpResult>,
): Promise<void> {
  const err = toAppError(request.error);
  if (err.status >= 500) {
    logger.error("request failed", { code: err.code, error: request.error as Error });
  }
  const response = json(err.status, err.toResponseBody());
  if (err instanceof AppError && err.retryable)
    response.headers = { ...response.headers, "retry-after": "1" };
  request.response = response;
}
