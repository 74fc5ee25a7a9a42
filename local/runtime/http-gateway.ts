import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import {
  consoleLogger,
  invokeHandler,
  type LambdaHandler,
  LambdaTimeoutError,
  quietLogger,
  type RuntimeLogger,
} from "./lambda-context";

/**
 * A local stand-in for an API Gateway HTTP API (payload format 2.0) in front of Lambda
 * handlers: real HTTP in, a faithful APIGatewayProxyEventV2 to the handler, the v2 result
 * mapping rules on the way out.
 */

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "ANY";

export interface RouteDef {
  method: HttpMethod;
  /** API Gateway route syntax: `/messages/{id}`; a last `{name+}` segment is greedy. */
  path: string;
  // The result is unknown because API Gateway accepts any JSON-serialisable value.
  handler: LambdaHandler<APIGatewayProxyEventV2, unknown>;
  functionName: string;
  /** The function timeout; defaults to 29 s, API Gateway's own integration limit. */
  timeoutMs?: number;
}

export interface HttpGatewayOptions {
  port: number;
  host?: string;
  routes: RouteDef[];
  logger?: RuntimeLogger;
  quiet?: boolean;
  /** API Gateway's payload limit is 10 MB; lower it in tests. */
  maxBodyBytes?: number;
  apiId?: string;
  accountId?: string;
  region?: string;
}

export interface HttpGateway {
  url: string;
  port: number;
  /** The routes it serves. */
  readonly routes: readonly RouteDef[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway HTTP API quota: request line and header values together, 10,240 bytes. */
const MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10_240;
/**
 * Node's own parser limit, set above the quota so that the gateway itself answers an oversize URL
 * (414) or header block (431) with a JSON body; only a request past this reaches clientError.
 */
const NODE_MAX_HEADER_SIZE = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 29_000;

interface CompiledRoute {
  def: RouteDef;
  routeKey: string;
  pattern: RegExp;
  params: string[];
  /** Literal routes beat parameterised ones, as in API Gateway's "most specific match". */
  specificity: number[];
}

function compileRoute(def: RouteDef): CompiledRoute {
  const params: string[] = [];
  const specificity: number[] = [];
  const segments = def.path.split("/").map((segment) => {
    const greedy = /^\{([A-Za-z0-9_.-]+)\+\}$/.exec(segment);
    if (greedy?.[1]) {
      params.push(greedy[1]);
      specificity.push(0);
      return "(.+)";
    }
    const param = /^\{([A-Za-z0-9_.-]+)\}$/.exec(segment);
    if (param?.[1]) {
      params.push(param[1]);
      specificity.push(1);
      return "([^/]+)";
    }
    specificity.push(2);
    return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return {
    def,
    routeKey: `${def.method} ${def.path}`,
    pattern: new RegExp(`^${segments.join("/")}$`),
    params,
    specificity,
  };
}

function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const n = Math.max(a.specificity.length, b.specificity.length);
  for (let i = 0; i < n; i++) {
    const d = (b.specificity[i] ?? -1) - (a.specificity[i] ?? -1);
    if (d !== 0) return d;
  }
  // A route for one method beats ANY on the same path.
  return Number(a.def.method === "ANY") - Number(b.def.method === "ANY");
}

interface RouteMatch {
  route: CompiledRoute;
  pathParameters: Record<string, string>;
}

/** Returns the matched route, "method" when only the method is wrong, or undefined. */
function matchRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): RouteMatch | "method" | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.def.method !== "ANY" && route.def.method !== method) continue;
    const pathParameters: Record<string, string> = {};
    route.params.forEach((name, i) => {
      const raw = m[i + 1] ?? "";
      pathParameters[name] = safeDecode(raw);
    });
    return { route, pathParameters };
  }
  return pathMatched ? "method" : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const TEXT_TYPES = new Set(["application/json", "application/x-www-form-urlencoded", "application/xml"]);

/** API Gateway passes text media types as text and base64-encodes everything else. */
function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mime = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return mime.startsWith("text/") || TEXT_TYPES.has(mime) || mime.endsWith("+json") || mime.endsWith("+xml");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** requestContext.time uses the CLF format: `12/Mar/2020:19:03:58 +0000`. */
function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

interface RawRequest {
  method: string;
  /** The request target as received, e.g. `/messages/1?a=1&a=2`. */
  url: string;
  /** Header name -> every value received (node's headersDistinct). */
  headers: Record<string, string[]>;
  body: Buffer;
  sourceIp: string;
  protocol: string;
}

/** Builds the payload-format-2.0 event API Gateway would send for this request. */
function buildHttpEvent(
  req: RawRequest,
  match: RouteMatch,
  opts: { apiId?: string; accountId?: string; requestId?: string; now?: Date; port?: number } = {},
): APIGatewayProxyEventV2 {
  const now = opts.now ?? new Date();
  const q = req.url.indexOf("?");
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const rawQueryString = q === -1 ? "" : req.url.slice(q + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(req.headers)) {
    const key = name.toLowerCase();
    // Payload 2.0 moves cookies out of the headers into their own array.
    if (key === "cookie") {
      cookies = values.flatMap((v) => v.split(";").map((c) => c.trim())).filter((c) => c.length > 0);
      continue;
    }
    headers[key] = values.join(",");
  }
  const requestId = opts.requestId ?? newRequestId();
  const epochSeconds = Math.floor(now.getTime() / 1000).toString(16);
  // Headers that API Gateway adds on its way to the integration.
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${req.sourceIp}`
    : req.sourceIp;
  headers["x-forwarded-proto"] ??= "http";
  if (opts.port !== undefined) headers["x-forwarded-port"] ??= String(opts.port);
  headers["x-amzn-trace-id"] ??= `Root=1-${epochSeconds}-${randomBytes(12).toString("hex")}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString.length > 0) {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      const prev = queryStringParameters[k];
      queryStringParameters[k] = prev === undefined ? v : `${prev},${v}`;
    }
  }

  const domainName = (headers.host ?? "localhost").replace(/:\d+$/, "");
  const textual = isTextContentType(headers["content-type"]);
  const hasBody = req.body.length > 0;

  return {
    version: "2.0",
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(match.route.params.length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: opts.accountId ?? "000000000000",
      apiId: opts.apiId ?? "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: req.method,
        path: rawPath,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: match.route.routeKey,
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: textual ? req.body.toString("utf8") : req.body.toString("base64") } : {}),
    isBase64Encoded: hasBody && !textual,
  };
}

/**
 * API Gateway's request ids look like `JKJaXmPLvHcESHA=`. Cut from a pooled random buffer: one
 * randomBytes call per request was a getrandom syscall each (~45 us on this VM, bench/search profile).
 */
const REQUEST_ID_BYTES = 10;
let idPool = Buffer.alloc(0);
let idAt = 0;
function newRequestId(): string {
  if (idAt + REQUEST_ID_BYTES > idPool.length) {
    idPool = randomBytes(REQUEST_ID_BYTES * 512);
    idAt = 0;
  }
  idAt += REQUEST_ID_BYTES;
  return idPool.subarray(idAt - REQUEST_ID_BYTES, idAt).toString("base64");
}

interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

class InvalidResponseError extends Error {
  override readonly name = "InvalidResponseError";
}

/**
 * Applies the payload 2.0 response rules: a structured result (has statusCode) is used as
 * is; anything else is a 200 JSON body (a string is sent verbatim).
 */
function toHttpResponse(result: unknown): HttpResponse {
  const structured =
    typeof result === "object" && result !== null && "statusCode" in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    const body = typeof result === "string" ? result : (JSON.stringify(result) ?? "null");
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      cookies: [],
      body: Buffer.from(body, "utf8"),
    };
  }
  const statusCode = Number(structured.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new InvalidResponseError(`invalid statusCode ${String(structured.statusCode)}`);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(structured.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  }
  if (structured.body !== undefined && structured.body !== null && typeof structured.body !== "string") {
    throw new InvalidResponseError("body must be a string");
  }
  const text = structured.body ?? "";
  return {
    statusCode,
    headers,
    cookies: (structured.cookies ?? []).map(String),
    body: structured.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8"),
  };
}

function jsonResponse(
  statusCode: number,
  payload: unknown,
  extra: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...extra },
    cookies: [],
    body: Buffer.from(JSON.stringify(payload), "utf8"),
  };
}

const gatewayError = (statusCode: number, code: string, message: string, extra?: Record<string, string>) =>
  jsonResponse(statusCode, { error: { code, message } }, extra);

class BodyTooLargeError extends Error {}

/** Reads the body as raw bytes (no decoding, so signatures over it still verify). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      // Past the limit the rest is drained and dropped so the client still reads the 413.
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () => (tooLarge ? reject(new BodyTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, response: HttpResponse, requestId: string, method: string): void {
  const headers: Record<string, string | string[]> = { ...response.headers, "apigw-requestid": requestId };
  if (response.cookies.length > 0) headers["set-cookie"] = response.cookies;
  headers["content-length"] = String(response.body.length);
  res.writeHead(response.statusCode, headers);
  res.end(method === "HEAD" ? undefined : response.body);
}

/** Starts the gateway; port 0 picks a free port, and the returned url carries the real one. */
export async function startHttpGateway(opts: HttpGatewayOptions): Promise<HttpGateway> {
  const host = opts.host ?? "127.0.0.1";
  const logger = opts.quiet ? quietLogger : (opts.logger ?? consoleLogger);
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const routes = opts.routes.map(compileRoute).sort(bySpecificity);
  let boundPort = opts.port;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = (req.method ?? "GET").toUpperCase();
    const target = req.url ?? "/";
    const path = target.split("?")[0] ?? "/";
    const requestId = newRequestId();
    let response: HttpResponse;
    try {
      response = await respond(req, method, target, path, requestId);
    } catch (err) {
      logger.error(`[gateway] unexpected error for ${method} ${path}`, err);
      response = jsonResponse(500, { message: "Internal Server Error" });
    }
    send(res, response, requestId, method);
    logger.info(`${method} ${path} ${response.statusCode} ${Math.round(performance.now() - started)}ms`);
  };

  const respond = async (
    req: IncomingMessage,
    method: string,
    target: string,
    path: string,
    requestId: string,
  ): Promise<HttpResponse> => {
    const lineBytes = Buffer.byteLength(`${method} ${target} HTTP/${req.httpVersion}`);
    if (lineBytes > MAX_REQUEST_LINE_AND_HEADERS_BYTES) {
      req.resume();
      return gatewayError(
        414,
        "uri_too_long",
        `Request line exceeds ${MAX_REQUEST_LINE_AND_HEADERS_BYTES} bytes`,
      );
    }
    const headerBytes = req.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h), 0);
    if (lineBytes + headerBytes > MAX_REQUEST_LINE_AND_HEADERS_BYTES) {
      req.resume();
      return gatewayError(
        431,
        "request_header_fields_too_large",
        `Request line and headers exceed ${MAX_REQUEST_LINE_AND_HEADERS_BYTES} bytes`,
      );
    }
    const match = matchRoute(routes, method, path);
    if (match === undefined || match === "method") {
      req.resume();
      if (match === undefined) return gatewayError(404, "not_found", `No route for ${method} ${path}`);
      const allowed = routes.filter((r) => r.pattern.test(path)).map((r) => r.def.method);
      return gatewayError(405, "method_not_allowed", `Method ${method} not allowed for ${path}`, {
        allow: [...new Set(allowed)].join(", "),
      });
    }
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        return gatewayError(413, "payload_too_large", `Request body exceeds ${limit} bytes`);
      }
      throw err;
    }
    const event = buildHttpEvent(
      {
        method,
        url: target,
        headers: req.headersDistinct as Record<string, string[]>,
        body,
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        protocol: `HTTP/${req.httpVersion}`,
      },
      match,
      { apiId: opts.apiId, accountId: opts.accountId, requestId, port: boundPort },
    );
    const { def } = match.route;
    const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let result: unknown;
    try {
      result = await invokeHandler(def.handler, event, def.functionName, timeoutMs, {
        region: opts.region,
        accountId: opts.accountId,
      });
    } catch (err) {
      if (err instanceof LambdaTimeoutError) {
        logger.error(`[${def.functionName}] ${err.message}`);
        // HTTP API answers an integration that did not respond in time with 503.
        return jsonResponse(503, { message: "Service Unavailable" });
      }
      logger.error(`[${def.functionName}] handler error on ${event.routeKey}`, err);
      return jsonResponse(500, { message: "Internal Server Error" });
    }
    try {
      return toHttpResponse(result);
    } catch (err) {
      logger.error(`[${def.functionName}] malformed Lambda response`, err);
      return jsonResponse(500, { message: "Internal Server Error" });
    }
  };

  const server = createServer({ maxHeaderSize: NODE_MAX_HEADER_SIZE }, (req, res) => {
    void handle(req, res);
  });
  // Requests Node's parser rejects before any handler runs: answer with JSON too, never an empty body.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, code, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "request_header_fields_too_large", "Request line and headers are too large"]
        : err.code === "HPE_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "request_timeout", "Request timeout"]
          : [400, "bad_request", "Malformed HTTP request"];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${code}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${boundPort}`,
    port: boundPort,
    routes: opts.routes,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
