import type { SQSClient } from "@aws-sdk/client-sqs";
import { sqsClient } from "../functions/shared/clients";
import { type Config, queueUrl, setConfig } from "../functions/shared/config";
import { createContainer, setContainer } from "../functions/shared/container";
import { type HttpGateway, type RouteDef, startHttpGateway } from "./runtime/http-gateway";
import { consoleLogger, quietLogger } from "./runtime/lambda-context";
import { type Schedule, startSchedule } from "./runtime/scheduler";
import { type SqsPoller, startSqsPoller } from "./runtime/sqs-poller";

/**
 * The local runtime: the same handlers AWS runs, wired the way the CDK stack wires them —
 * HTTP API routes, SQS event sources with partial batch failures, and schedules.
 */
export interface LocalApp {
  readonly url: string;
  readonly gateway: HttpGateway;
  readonly pollers: Record<"keyword" | "vector" | "ingest", SqsPoller>;
  readonly schedules: Record<"outboxRelay" | "reconcile", Schedule>;
  stop(): Promise<void>;
}

export interface LocalAppOptions {
  readonly config: Config;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  readonly quiet?: boolean;
  readonly relayEveryMs?: number;
  /** Reconciler interval (default RECONCILE_EVERY_MS); `schedules.reconcile.runOnce()` runs it on demand. */
  readonly reconcileEveryMs?: number;
  /** Max parallel batches per worker queue (Lambda's maximum concurrency). */
  readonly workerConcurrency?: number;
  readonly batchSize?: number;
  /** Lambda's MaximumBatchingWindowInSeconds for the keyword and vector queues (needed for batchSize > 10). */
  readonly batchingWindowSeconds?: number;
}

export async function startLocalApp(opts: LocalAppOptions): Promise<LocalApp> {
  const cfg = opts.config;
  // Handlers resolve config and clients through the process-wide singletons.
  setConfig(cfg);
  setContainer(createContainer(cfg));
  const [ingest, keywordIndexer, embedder, outboxRelay, search] = await Promise.all([
    import("../functions/handlers/ingest"),
    import("../functions/handlers/keyword-indexer"),
    import("../functions/handlers/embedder"),
    import("../functions/handlers/outbox-relay"),
    import("../functions/handlers/search"),
  ]);
  const reconcile = await import("../functions/handlers/reconcile");
  const [slackEvents, slackIngest] = await Promise.all([
    import("../functions/handlers/slack-events"),
    import("../functions/handlers/slack-ingest"),
  ]);
  const logger = opts.quiet ? quietLogger : consoleLogger;
  const routes: RouteDef[] = [
    { method: "POST", path: "/messages", handler: ingest.handler, functionName: "ingest", timeoutMs: 30_000 },
    {
      method: "DELETE",
      path: "/messages/{id}",
      handler: ingest.handler,
      functionName: "ingest",
      timeoutMs: 30_000,
    },
    { method: "GET", path: "/search", handler: search.handler, functionName: "search", timeoutMs: 10_000 },
    { method: "POST", path: "/search", handler: search.handler, functionName: "search", timeoutMs: 10_000 },
  ];
  routes.push({
    method: "POST",
    path: "/slack/events",
    handler: slackEvents.handler,
    functionName: "slack-events",
    // Slack gives up after 3 s; the function does one SendMessage.
    timeoutMs: 10_000,
  });
  const sqs: SQSClient = sqsClient(cfg);
  // One SQS event source per worker queue, with the same settings (as the CDK pipeline declares them).
  const poller = (
    queue: "keyword" | "vector" | "ingest",
    functionName: string,
    handler: typeof keywordIndexer.handler,
  ) =>
    startSqsPoller({
      sqs,
      queueUrl: queueUrl(cfg, queue),
      handler,
      functionName,
      batchSize: opts.batchSize ?? 10,
      maxBatchingWindowSeconds: opts.batchingWindowSeconds ?? 0,
      maxConcurrency: opts.workerConcurrency ?? 2,
      timeoutMs: 60_000,
      logger,
    });
  const pollers = {
    keyword: poller("keyword", "keyword-indexer", keywordIndexer.handler),
    vector: poller("vector", "embedder", embedder.handler),
    ingest: poller("ingest", "slack-ingest", slackIngest.handler),
  };
  const schedules = {
    outboxRelay: startSchedule({
      handler: outboxRelay.handler,
      everyMs: opts.relayEveryMs ?? 5_000,
      functionName: "outbox-relay",
      logger,
      onError: (err) => logger.error(`outbox-relay failed: ${(err as Error).message}`),
    }),
    reconcile: startSchedule({
      handler: reconcile.handler,
      everyMs: opts.reconcileEveryMs ?? cfg.RECONCILE_EVERY_MS,
      functionName: "reconcile",
      logger,
      onError: (err) => logger.error(`reconcile failed: ${(err as Error).message}`),
    }),
  };
  const gateway = await startHttpGateway({
    port: opts.port ?? cfg.API_PORT,
    host: cfg.API_HOST,
    routes,
    logger,
    quiet: opts.quiet ?? false,
  });
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
