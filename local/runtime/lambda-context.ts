import { randomBytes, randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/**
 * The Lambda invocation contract as the local runtime plays it: a realistic `Context`, a
 * function timeout, and a handler type loose enough to accept middy-wrapped handlers.
 */

/** Any `(event, context)` function; middy's `(event, context, opts?) => Promise<R>` fits. */
export type LambdaHandler<E = never, R = unknown> = (event: E, context: Context) => R | Promise<R>;

/** One-line logging used by the gateway, poller and scheduler; `quietLogger` for tests. */
export interface RuntimeLogger {
  info(message: string): void;
  error(message: string, err?: unknown): void;
}

export const consoleLogger: RuntimeLogger = {
  info: (message) => console.log(message),
  error: (message, err) => (err === undefined ? console.error(message) : console.error(message, err)),
};

export const quietLogger: RuntimeLogger = { info: () => {}, error: () => {} };

export interface LambdaContextOptions {
  region?: string;
  accountId?: string;
  memoryLimitInMB?: number;
  functionVersion?: string;
}

/** Lambda's own stream name shape: `2024/05/01/[$LATEST]<32 hex>`. */
function logStreamName(version: string): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  return `${day}/[${version}]${randomBytes(16).toString("hex")}`;
}

/** A fresh context per invocation: new request id, deadline = now + timeout. */
export function createLambdaContext(
  functionName: string,
  timeoutMs: number,
  opts: LambdaContextOptions = {},
): Context {
  const region = opts.region ?? "us-east-1";
  const accountId = opts.accountId ?? "000000000000";
  const version = opts.functionVersion ?? "$LATEST";
  const deadline = Date.now() + timeoutMs;
  // The deprecated callback-era methods exist only so old code type-checks; async handlers never call them.
  const legacy = () => {
    throw new Error(
      "context.done/succeed/fail are not supported by the local runtime: return a value instead",
    );
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: version,
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(opts.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: logStreamName(version),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: legacy,
    fail: legacy,
    succeed: legacy,
  };
}

/** Raised when a handler outlives its configured timeout (Lambda's "Task timed out"). */
export class LambdaTimeoutError extends Error {
  override readonly name = "LambdaTimeoutError";
  constructor(
    readonly functionName: string,
    readonly timeoutMs: number,
    readonly awsRequestId: string,
  ) {
    super(`${awsRequestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (${functionName})`);
  }
}

/**
 * Calls a handler the way the Lambda runtime does and enforces the timeout. The handler
 * cannot be frozen like a real sandbox, so it may keep running after the timeout; its late
 * result is ignored.
 */
export async function invokeHandler<E, R>(
  handler: LambdaHandler<E, R>,
  event: E,
  functionName: string,
  timeoutMs: number,
  opts: LambdaContextOptions = {},
): Promise<R> {
  const context = createLambdaContext(functionName, timeoutMs, opts);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LambdaTimeoutError(functionName, timeoutMs, context.awsRequestId)),
      timeoutMs,
    );
  });
  try {
    // Promise.resolve().then also turns a synchronous throw into a rejection.
    return await Promise.race([Promise.resolve().then(() => handler(event, context)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
