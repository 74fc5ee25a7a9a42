import { randomUUID } from "node:crypto";
import type { ScheduledEvent } from "aws-lambda";
import { consoleLogger, invokeHandler, type LambdaHandler, type RuntimeLogger } from "./lambda-context";

/**
 * An EventBridge schedule rule for local use: invokes a handler every `everyMs` with a
 * realistic ScheduledEvent. Runs never overlap: the next one is timed from the end of the
 * previous one, and runOnce() waits for any run in progress.
 */

export interface ScheduleOptions {
  handler: LambdaHandler<ScheduledEvent, unknown>;
  /** Undefined: no timer, the schedule runs only through runOnce() (tests and benches drive it). */
  everyMs: number | undefined;
  functionName: string;
  /** Also run once right away instead of waiting one interval. */
  runNow?: boolean;
  timeoutMs?: number;
  ruleName?: string;
  region?: string;
  accountId?: string;
  logger?: RuntimeLogger;
  /** Errors of timed runs (runOnce() rejects instead). */
  onError?: (err: unknown) => void;
}

export interface Schedule {
  /** The interval between runs; undefined when the schedule only runs through runOnce(). */
  readonly everyMs: number | undefined;
  readonly functionName: string;
  readonly timeoutMs: number;
  stop(): Promise<void>;
  /** Runs now (after any run in progress) and returns the handler's result. */
  runOnce(): Promise<unknown>;
  readonly runs: number;
}

/** The event EventBridge sends for a schedule rule. */
function buildScheduledEvent(opts: {
  ruleName: string;
  region?: string;
  accountId?: string;
  now?: Date;
}): ScheduledEvent {
  const region = opts.region ?? "us-east-1";
  const account = opts.accountId ?? "000000000000";
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    // EventBridge stamps whole seconds: 2019-10-08T16:53:06Z.
    time: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${opts.ruleName}`],
    detail: {},
  };
}

export function startSchedule(opts: ScheduleOptions): Schedule {
  const logger = opts.logger ?? consoleLogger;
  const onError =
    opts.onError ?? ((err: unknown) => logger.error(`[${opts.functionName}] scheduled run failed`, err));
  const ruleName = opts.ruleName ?? `${opts.functionName}-schedule`;
  const timeoutMs = opts.timeoutMs ?? 900_000;
  let stopped = false;
  let runs = 0;
  let timer: NodeJS.Timeout | undefined;
  // Serialises runs: each run starts after the previous one settled.
  let tail: Promise<unknown> = Promise.resolve();

  const run = (): Promise<unknown> => {
    const next = tail.then(() => {
      runs++;
      const event = buildScheduledEvent({ ruleName, region: opts.region, accountId: opts.accountId });
      return invokeHandler(opts.handler, event, opts.functionName, timeoutMs, {
        region: opts.region,
        accountId: opts.accountId,
      });
    });
    tail = next.catch(() => undefined);
    return next;
  };

  const tick = () => {
    timer = undefined;
    run()
      .catch(onError)
      .finally(() => {
        if (!stopped && opts.everyMs !== undefined) timer = setTimeout(tick, opts.everyMs);
      });
  };

  if (opts.runNow) tick();
  else if (opts.everyMs !== undefined) timer = setTimeout(tick, opts.everyMs);

  return {
    everyMs: opts.everyMs,
    functionName: opts.functionName,
    timeoutMs,
    get runs() {
      return runs;
    },
    runOnce: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await tail;
    },
  };
}
