import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type middy from "@middy/core";
import { config } from "./config";
import { logger } from "./logger";
import { metrics } from "./metrics";

/**
 * The middlewares every function's chain starts with (functions/handlers/*): Powertools' own, named
 * here so a handler reads as a list of steps. HTTP error mapping is `httpErrorHandler` (http.ts),
 * SQS outcomes are `sqs-batch.ts`.
 */

const inLambda = () => config().AWS_LAMBDA_FUNCTION_NAME !== undefined;

/**
 * Every log line of an invocation carries the function name, request id and cold start
 * (Powertools' injectLambdaContext). Its before step also resets the log level to the one the
 * logger was built with, for debug sampling (unused here); the level in force is kept instead, so
 * a level set at run time survives the next invocation. Outside Lambda nothing is added: the local
 * runtime runs every function in one process, concurrently, and one shared logger cannot carry
 * one invocation's context.
 */
export function lambdaLogContext(): middy.MiddlewareObj {
  if (!inLambda()) return { before: withoutLambdaContext };
  const powertools = injectLambdaContext(logger);
  return {
    ...powertools,
    // Synchronous: nothing else can log between the reset and the restore.
    before: function addLambdaContext(request) {
      const level = logger.getLevelName();
      void powertools.before?.(request);
      logger.setLogLevel(level);
    },
  };
}

/**
 * The metrics an invocation recorded, flushed as one EMF line when it ends. Outside Lambda (the
 * local runtime, tests) they are dropped instead: CloudWatch is the only reader of those lines.
 */
export function invocationMetrics(): middy.MiddlewareObj {
  if (inLambda()) return logMetrics(metrics);
  return { after: dropMetrics, onError: dropMetrics };
}

function withoutLambdaContext(): void {}

function dropMetrics(): void {
  metrics.clearMetrics();
  metrics.clearDimensions();
}
