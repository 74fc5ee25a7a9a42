import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import {
  FUNCTIONS,
  QUEUES,
  type QueueName,
  ROUTES,
  routeKey,
  SCHEDULES,
  visibilityTimeoutSeconds,
} from "../../functions/topology";
import { startNamespace } from "../../local/namespace";
import { startTestApp, type TestApp } from "../helpers/local-app";

/**
 * The local runtime is the topology (functions/topology.ts): the routes it serves, the queues it
 * consumes and the schedules it runs, with the same timeouts and event-source settings, and
 * intervals divided by LOCAL_SPEEDUP only.
 */
describe("the local runtime is the topology", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("topology");
  });
  afterAll(async () => {
    await t?.close();
  });

  it("serves exactly the topology's routes, each by its function with its timeout", () => {
    const served = t.app.gateway.routes.map((r) => ({
      key: routeKey(r),
      functionName: r.functionName,
      timeoutMs: r.timeoutMs,
    }));
    expect(served.sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      ROUTES.map((r) => ({
        key: routeKey(r),
        functionName: r.function,
        timeoutMs: FUNCTIONS[r.function].timeoutSeconds * 1000,
      })).sort((a, b) => a.key.localeCompare(b.key)),
    );
  });

  it("consumes exactly the topology's queues with its consumer, batching, concurrency and timeout", () => {
    expect(Object.keys(t.app.pollers).sort()).toEqual(Object.keys(QUEUES).sort());
    for (const [name, spec] of Object.entries(QUEUES)) {
      expect(t.app.pollers[name as QueueName].settings, name).toEqual({
        functionName: spec.consumer,
        batchSize: spec.batchSize,
        maxBatchingWindowSeconds: spec.maxBatchingWindowSeconds,
        windowSpeedup: t.config.LOCAL_SPEEDUP,
        maxConcurrency: spec.maxConcurrency,
        timeoutMs: FUNCTIONS[spec.consumer].timeoutSeconds * 1000,
      });
    }
  });

  it("creates each queue with the topology's redrive count and visibility timeout", async () => {
    for (const [name, spec] of Object.entries(QUEUES)) {
      const attrs = await sqsClient(t.config).send(
        new GetQueueAttributesCommand({ QueueUrl: t.queues[name as QueueName].url, AttributeNames: ["All"] }),
      );
      expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}").maxReceiveCount, name).toBe(
        spec.maxReceiveCount,
      );
      expect(Number(attrs.Attributes?.VisibilityTimeout), name).toBe(
        visibilityTimeoutSeconds(name as QueueName),
      );
    }
  });

  it("runs exactly the topology's schedules, intervals divided by LOCAL_SPEEDUP", () => {
    expect(Object.keys(t.app.schedules).sort()).toEqual(Object.keys(SCHEDULES).sort());
    const relay = t.app.schedules.outboxRelay;
    expect(relay.functionName).toBe(SCHEDULES.outboxRelay.function);
    expect(relay.everyMs).toBe((SCHEDULES.outboxRelay.everySeconds * 1000) / t.config.LOCAL_SPEEDUP);
    expect(relay.timeoutMs).toBe(FUNCTIONS[SCHEDULES.outboxRelay.function].timeoutSeconds * 1000);
    // The test namespace leaves the reconciler to runOnce().
    expect(t.app.schedules.reconcile.functionName).toBe(SCHEDULES.reconcile.function);
    expect(t.app.schedules.reconcile.everyMs).toBeUndefined();
  });

  it("runs the topology's rates unchanged with LOCAL_SPEEDUP=1 (npm start's default)", async () => {
    const plain = await startNamespace({
      prefix: "t",
      label: "topology-plain",
      env: { LOCAL_SPEEDUP: "1" },
      manualSchedules: [],
    });
    try {
      for (const [name, spec] of Object.entries(SCHEDULES)) {
        expect(plain.app.schedules[name as keyof typeof SCHEDULES].everyMs, name).toBe(
          spec.everySeconds * 1000,
        );
      }
      for (const name of Object.keys(QUEUES) as QueueName[]) {
        expect(plain.app.pollers[name].settings.windowSpeedup, name).toBe(1);
      }
    } finally {
      await plain.close();
    }
  });
});
