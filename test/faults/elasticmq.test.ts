import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { type Namespace, startNamespace } from "../../local/namespace";
import { expectConverged, type PrivateService, privateElasticMq, recordFault, silenceLogs } from "./helpers";

/**
 * ElasticMQ killed with jobs in its queues and restarted: with messages-storage (H2) the jobs are
 * still there, as they would be in SQS; messages accepted while it was down wait in the outbox and
 * the relay sends them. No reconcile runs (namespaces run it by hand only): the pipeline alone recovers.
 */
const message = (i: number) => ({
  external_id: `emq-${i}`,
  channel: "#ops",
  author: "oncall@company.com",
  content: `Queue drill ${i}: broker restarted, job ${i} must be indexed exactly once`,
  timestamp: new Date(Date.UTC(2025, 11, 2, 0, i)).toISOString(),
});
const batch = (from: number, n: number) => ({
  source: { type: "app", name: "drill" },
  messages: Array.from({ length: n }, (_, i) => message(from + i)),
});

describe("fault: ElasticMQ killed with jobs queued", () => {
  let mq: PrivateService;
  let ns: Namespace;

  let restoreLogs: () => void;

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    mq = await privateElasticMq();
    await mq.start();
    ns = await startNamespace({
      prefix: "f",
      label: "elasticmq",
      baseEnv: { ...process.env, SQS_ENDPOINT: mq.url },
      visibilityTimeout: 5,
    });
  });
  afterAll(async () => {
    restoreLogs();
    await ns?.close();
    await mq?.dispose();
  });

  it("keeps queued jobs across a kill -9, sends what was accepted meanwhile, indexes all once", async () => {
    // Workers and relay off: the 80 messages' jobs stay in the queues, nothing else is sent.
    await Promise.all(
      [...Object.values(ns.app.pollers), ...Object.values(ns.app.schedules)].map((p) => p.stop()),
    );
    for (const from of [0, 40]) expect((await ns.api("POST", "/messages", batch(from, 40))).status).toBe(202);
    const depth = async () => {
      const res = await sqsClient(ns.config).send(
        new GetQueueAttributesCommand({
          QueueUrl: ns.queues.keyword.url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      return (
        Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    };
    const queued = await depth();
    expect(queued).toBeGreaterThan(0);

    await mq.kill();
    // Accepted while the broker is down: the publish fails, the rows stay pending in the outbox.
    expect((await ns.api("POST", "/messages", batch(80, 20))).status).toBe(202);

    const restartMs = await mq.start();
    // Durable like SQS: every job that was queued before the kill is still there.
    expect(await depth()).toBe(queued);

    const t0 = performance.now();
    await ns.reconfigure({});
    await expectConverged(container(), 100);
    const recoveryMs = Math.round(performance.now() - t0) + restartMs;
    recordFault({
      fault: "ElasticMQ SIGKILL with 80 messages' jobs queued (workers off), 20 more accepted while down",
      accepted: "100 (202)",
      after: `keyword queue held ${queued} records before the kill and the same after the restart; 100 in PostgreSQL, OpenSearch and Chroma, outbox empty, no drift`,
      recoveryMs,
    });
  });
});
