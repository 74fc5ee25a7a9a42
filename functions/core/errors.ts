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

export class ConflictError extends AppError {
  constructor(message: string) {
    super("conflict", message, { status: 409 });
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

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError("internal_error", err instanceof Error ? err.message : String(err), { cause: err });
}
