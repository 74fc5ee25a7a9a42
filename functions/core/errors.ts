/** Typed errors: `status` drives the HTTP mapping, `retryable` drives SQS item failures. */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: readonly ErrorDetail[];

  constructor(
    code: string,
    message: string,
    opts: { status?: number; retryable?: boolean; cause?: unknown; details?: readonly ErrorDetail[] } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? [];
  }

  /** Client errors are shown as they are; server errors never leak internals. */
  get expose(): boolean {
    return this.status < 500;
  }

  /** The HTTP error body. Deliberately not toJSON: logs serialize with JSON.stringify and must keep the message and cause. */
  toResponseBody(): { error: { code: string; message: string; details?: readonly ErrorDetail[] } } {
    const message = this.expose ? this.message : "Internal error";
    return {
      error: { code: this.code, message, ...(this.details.length > 0 ? { details: this.details } : {}) },
    };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super("validation_error", message, { status: 400, details });
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super("not_found", message, { status: 404 });
  }
}

/** No caller identity where one is required (a search without a viewer, unscoped mode off). */
export class UnauthorizedError extends AppError {
  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super("unauthorized", message, { status: 401, details });
  }
}

/** A known caller asking for what it may not have (another viewer's cursor, another viewer's scope). */
export class ForbiddenError extends AppError {
  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super("forbidden", message, { status: 403, details });
  }
}

/** A dependency failed in a way that a later attempt may fix (throttling, a store down). */
export class RetryableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super("unavailable", message, { status: 503, retryable: true, cause });
  }
}

/** A record that can never succeed (e.g. wrong embedding dimension): fail loudly, let the DLQ keep it. */
export class PermanentError extends AppError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { status: 500, retryable: false, cause });
  }
}

/** The request body's media type is not one the route reads (POST bodies are JSON). */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super("unsupported_media_type", message, { status: 415 });
  }
}

/** Node/libuv socket codes of a dependency that is down, unreachable or hung up on us. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/**
 * PostgreSQL SQLSTATEs that a later attempt may fix: connection exceptions (08), too many
 * connections (53300), server shutting down or starting (57P01-57P03), serialization failure and
 * deadlock (40001, 40P01), lock timeout (55P03), statement cancelled by timeout (57014).
 */
const PG_RETRYABLE = /^(08...|53300|53400|57P0[123]|40001|40P01|55P03|57014)$/;

/** Error names the OpenSearch, Chroma and AWS SDK clients give an outage or a throttle. */
const UNAVAILABLE_NAMES = new Set([
  "ConnectionError",
  "NoLivingConnectionsError",
  "TimeoutError",
  "ChromaConnectionError",
  "ChromaServerError",
  "ThrottlingException",
  "Throttling",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "KMSThrottlingException",
]);

/** Messages of pg and pg-pool for a connection that never came or was lost. */
const PG_CONNECTION_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated",
  "connection timeout",
  "Client has encountered a connection error",
  "the database system is starting up",
  "the database system is shutting down",
];

type Loose = Record<string, unknown>;

/** The HTTP status a client error carries: OpenSearch (meta.statusCode, statusCode), AWS SDK ($metadata), fetch-based (status). */
function httpStatusOf(e: Loose): number | undefined {
  const meta = e.meta as Loose | undefined;
  const metadata = e.$metadata as Loose | undefined;
  for (const v of [meta?.statusCode, e.statusCode, metadata?.httpStatusCode, e.status]) {
    if (typeof v === "number") return v;
  }
  return undefined;
}

function isUnavailableOne(e: Loose): boolean {
  const code = typeof e.code === "string" ? e.code : undefined;
  if (code && (CONNECTION_CODES.has(code) || PG_RETRYABLE.test(code))) return true;
  const name = typeof e.name === "string" ? e.name : "";
  if (UNAVAILABLE_NAMES.has(name) || UNAVAILABLE_NAMES.has(code ?? "")) return true;
  // The AWS SDK marks throttles and server faults after its own retries ran out.
  if ((e.$retryable as Loose | undefined)?.throttling === true || e.$fault === "server") return true;
  const status = httpStatusOf(e);
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  if (name === "TypeError" && message === "fetch failed") return true;
  return PG_CONNECTION_MESSAGES.some((m) => message.includes(m));
}

/**
 * True when `err` (or an error in its cause chain) says a dependency is down, unreachable,
 * overloaded or throttling: PostgreSQL connection failures and pool timeouts, OpenSearch 429/5xx
 * and connection errors, Chroma unavailable, SQS/Bedrock throttling. Duck-typed on the fields the
 * drivers set, so core imports no driver.
 */
export function isDependencyUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if (current instanceof AppError) return current.retryable;
    const e = current as Loose;
    if (isUnavailableOne(e)) return true;
    if (Array.isArray(e.errors) && e.errors.some((x) => isDependencyUnavailable(x))) return true;
    current = e.cause;
  }
  return false;
}

/**
 * The one classification: AppErrors stay as they are; a dependency outage becomes the retryable
 * `unavailable` (HTTP 503 + Retry-After, an SQS item failure for workers); anything else is our
 * own bug (500).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDependencyUnavailable(err)) return new RetryableError(`a dependency is unavailable: ${message}`, err);
  return new AppError("internal_error", message, { cause: err });
}
