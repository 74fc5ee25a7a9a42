import type { SQSClient } from "@aws-sdk/client-sqs";
import { sqsClient } from "../functions/shared/clients";
import { type Config, queueUrl, setConfig } from "../functions/shared/config";
import { createContainer, setContainer } from "../functions/shared/container";
import { logger as functionLogger } from "../functions/shared/logger";
import {
  FUNCTIONS,
  type FunctionName,
  QUEUES,
  type QueueName,
  type QueueSpec,
  ROUTES,
  SCHEDULES,
  type ScheduleName,
} from "../functions/topology";
import { type HttpGateway, type RouteDef, startHttpGateway } from "./runtime/http-gateway";
import { consoleLogger, type LambdaHandler, quietLogger } from "./runtime/lambda-context";
import { type Schedule, startSchedule } from "./runtime/scheduler";
import { type SqsPoller, startSqsPoller } from "./runtime/sqs-poller";

/**
 * The local runtime: the same handlers AWS runs, built from the same declaration as the CDK stack
 * (functions/topology.ts): its HTTP routes, SQS event sources with partial batch failures, and
 * schedules, with the same timeouts, batch sizes, windows and concurrency. The one development knob
 * is LOCAL_SPEEDUP, which divides schedule intervals and batching windows.
 */
export interface LocalApp {
  readonly url: string;
  readonly gateway: HttpGateway;
  readonly pollers: Record<QueueName, SqsPoller>;
  readonly schedules: Record<ScheduleName, Schedule>;
  stop(): Promise<void>;
}

/** Benchmarks compare event-source settings against the topology's; nothing else overrides them. */
type ConsumerOverrides = Partial<
  Pick<QueueSpec, "batchSize" | "maxBatchingWindowSeconds" | "maxConcurrency">
>;

export interface LocalAppOptions {
  readonly config: Config;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  readonly quiet?: boolean;
  /** Schedules without a timer: they run only through `schedules.<name>.runOnce()` (tests, benches, eval). */
  readonly manualSchedules?: readonly ScheduleName[];
  /** Benchmarks only: event-source settings to measure instead of the topology's (every queue). */
  readonly consumerOverrides?: ConsumerOverrides;
}

// biome-ignore lint/suspicious/noExplicitAny: each handler takes its own event type
type AnyHandler = LambdaHandler<any, unknown>;

/** The handler module of a topology function: functions/handlers/<name>.ts, as the CDK bundles it. */
async function loadHandler(name: FunctionName): Promise<AnyHandler> {
  const mod = (await import(`../functions/handlers/${name}.ts`)) as { handler: AnyHandler };
  return mod.handler;
}

export async function startLocalApp(opts: LocalAppOptions): Promise<LocalApp> {
  const cfg = opts.config;
  // Handlers resolve config and clients through the process-wide singletons.
  setConfig(cfg);
  setContainer(createContainer(cfg));
  // The handlers' logger was built from the config at hand when its module loaded: this one decides.
  functionLogger.setLogLevel(cfg.LOG_LEVEL);
  const served = [
    ...ROUTES.map((r) => r.function),
    ...Object.values(QUEUES).map((q) => q.consumer),
    ...Object.values(SCHEDULES).map((s) => s.function),
  ];
  const names = [...new Set<FunctionName>(served)];
  const handlers = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await loadHandler(name)] as const)),
  ) as Record<FunctionName, AnyHandler>;
  const timeoutMs = (name: FunctionName) => FUNCTIONS[name].timeoutSeconds * 1000;
  const logger = opts.quiet ? quietLogger : consoleLogger;
  const speedup = cfg.LOCAL_SPEEDUP;

  const routes: RouteDef[] = ROUTES.map((r) => ({
    method: r.method,
    path: r.path,
    handler: handlers[r.function],
    functionName: r.function,
    timeoutMs: timeoutMs(r.function),
  }));

  const sqs: SQSClient = sqsClient(cfg);
  const pollers = Object.fromEntries(
    (Object.entries(QUEUES) as [QueueName, QueueSpec][]).map(([name, spec]) => {
      const settings = { ...spec, ...opts.consumerOverrides };
      const poller = startSqsPoller({
        sqs,
        queueUrl: queueUrl(cfg, name),
        handler: handlers[spec.consumer],
        functionName: spec.consumer,
        batchSize: settings.batchSize,
        maxBatchingWindowSeconds: settings.maxBatchingWindowSeconds,
        windowSpeedup: speedup,
        maxConcurrency: settings.maxConcurrency,
        timeoutMs: timeoutMs(spec.consumer),
        logger,
      });
      return [name, poller];
    }),
  ) as Record<QueueName, SqsPoller>;

  const schedules = Object.fromEntries(
    (Object.entries(SCHEDULES) as [ScheduleName, (typeof SCHEDULES)[ScheduleName]][]).map(([name, spec]) => {
      const schedule = startSchedule({
        handler: handlers[spec.function],
        everyMs: opts.manualSchedules?.includes(name) ? undefined : (spec.everySeconds * 1000) / speedup,
        functionName: spec.function,
        timeoutMs: timeoutMs(spec.function),
        logger,
        onError: (err) => logger.error(`${spec.function} failed: ${(err as Error).message}`),
      });
      return [name, schedule];
    }),
  ) as Record<ScheduleName, Schedule>;

  const gateway = await startHttpGateway({
    port: opts.port ?? cfg.API_PORT,
    host: cfg.API_HOST,
    routes,
    logger,
    quiet: opts.quiet ?? false,
  });
  if (!cfg.SEARCH_PAGE_URL) {
    // The page is served here (GET /): the slash command's "More results" opens it. The port is
    // known only now (0 picks one), so the container is rebuilt with it; clients are shared.
    const withPage: Config = { ...cfg, SEARCH_PAGE_URL: `${gateway.url}/` };
    setConfig(withPage);
    setContainer(createContainer(withPage));
  }
  return {
    url: gateway.url,
    gateway,
    pollers,
    schedules,
    async stop() {
      await gateway.close();
      await Promise.all([...Object.values(pollers), ...Object.values(schedules)].map((p) => p.stop()));
    },
  };
}
