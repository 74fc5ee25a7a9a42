import { afterAll, beforeAll, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { type Namespace, startNamespace } from "../../local/namespace";
import {
  expectConverged,
  expectNoDeadLetters,
  type PrivateService,
  recordFault,
  silenceLogs,
} from "./helpers";

/**
 * One index store (OpenSearch or Chroma, a private instance) killed with SIGKILL while messages
 * keep arriving, then started again on its data: writes are still accepted (PostgreSQL and the
 * outbox have them), search on the dead leg alone is a 503, hybrid answers from the other leg
 * marked `degraded`, and after the restart the queues' redeliveries alone (no reconcile, no DLQ)
 * bring the index back to every message, once.
 */
export function indexOutageCase(opts: {
  readonly label: string;
  readonly start: () => Promise<PrivateService>;
  /** The setting that points the namespace at the private instance. */
  readonly urlSetting: "OPENSEARCH_URL" | "CHROMA_URL";
  readonly leg: "bm25" | "semantic";
}): void {
  let service: PrivateService;
  let ns: Namespace;
  let restoreLogs: () => void;

  const message = (i: number) => ({
    external_id: `${opts.label}-${i}`,
    channel: "#search",
    author: "sre@company.com",
    content: `Index drill ${i}: ${opts.label} killed while messages arrive; message ${i} is indexed once`,
    timestamp: new Date(Date.UTC(2025, 11, 5, 0, i)).toISOString(),
  });
  const batch = (from: number, n: number) => ({
    source: { type: "app", name: "drill" },
    messages: Array.from({ length: n }, (_, i) => message(from + i)),
  });

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    service = await opts.start();
    await service.start();
    ns = await startNamespace({
      prefix: "f",
      label: opts.label,
      baseEnv: { ...process.env, [opts.urlSetting]: service.url },
      // Redeliver fast and never give up during the outage: the queue, not the reconciler, recovers.
      visibilityTimeout: 2,
      maxReceiveCount: 1000,
    });
  });
  afterAll(async () => {
    await ns?.close();
    await service?.dispose();
    restoreLogs();
  });

  it(`${opts.label} killed during ingest and search: writes accepted, ${opts.leg} alone 503, hybrid degraded, all indexed once after restart`, async () => {
    expect((await ns.api("POST", "/messages", batch(0, 40))).status).toBe(202);
    await expectConverged(container(), 40);

    await service.kill();
    expect((await ns.api("POST", "/messages", batch(40, 40))).status).toBe(202);
    const alone = await ns.api("GET", `/search?q=index+drill&strategy=${opts.leg}`);
    expect(alone.status).toBe(503);
    const hybrid = await ns.api("GET", "/search?q=index+drill");
    expect(hybrid.status).toBe(200);
    expect((hybrid.body as { degraded?: string[] }).degraded).toEqual([opts.leg]);

    const restartMs = await service.start();
    const t0 = performance.now();
    await expectConverged(container(), 80, 120_000);
    const recoveryMs = Math.round(performance.now() - t0) + restartMs;
    await expectNoDeadLetters(sqsClient(ns.config), ns.queues);
    expect((await ns.api("GET", `/search?q=index+drill&strategy=${opts.leg}`)).status).toBe(200);
    recordFault({
      fault: `${opts.label} SIGKILL during ingest and search`,
      accepted: `40 before, 40 while down (202); search ${opts.leg} 503, hybrid 200 degraded [${opts.leg}]`,
      after: "80 in PostgreSQL, OpenSearch and Chroma, outbox empty, no drift, no DLQ; redeliveries alone",
      recoveryMs,
    });
  });
}
