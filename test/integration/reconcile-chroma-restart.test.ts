import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { driftTotal, type ReconcileReport } from "../../functions/core/reconcile";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { runReconcile } from "../../functions/shared/reconcile-runner";
import { parseJobRecordBody } from "../../functions/shared/sqs-batch";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { type PrivateService, privateChroma } from "../helpers/private-services";
import { waitUntil } from "../helpers/wait";

/**
 * "Stop Chroma, ingest, start Chroma": the shared Chroma server must keep running for everyone
 * else, so this file runs its own Chroma 1.0 server (test/helpers/private-services.ts: the stack's
 * build on a free port and a data dir of its own), kills it, and starts it again on the same data.
 */
const message = (i: number) => ({
  external_id: `restart-${i}`,
  channel: i % 2 ? "#platform" : "#mobile",
  author: `dev${i % 7}@company.com`,
  content: `Deploy ${i}: rolled out build ${1000 + i} to ${i % 3 ? "staging" : "production"} after the smoke tests passed`,
  timestamp: new Date(Date.UTC(2025, 11, 1, 0, i)).toISOString(),
});

const acceptedIds = (body: unknown): number[] =>
  (body as { accepted: { message_id: number }[] }).accepted.map((a) => a.message_id);

describe("reconcile after Chroma was down during ingest", () => {
  let chroma: PrivateService;
  let t: TestApp;

  beforeAll(async () => {
    chroma = await privateChroma();
    await chroma.start();
    t = await startTestApp("rchroma", {
      env: { CHROMA_URL: chroma.url },
      // Fail fast while Chroma is down: two receives, then the DLQ.
      maxReceiveCount: 2,
      visibilityTimeout: 1,
    });
  });
  afterAll(async () => {
    await t?.close();
    await chroma?.dispose();
  });

  it("stop Chroma, ingest 200 messages, start Chroma -> after reconcile, equal counts", async () => {
    const counts = () => storeCounts(container());
    const first = Array.from({ length: 10 }, (_, i) => message(i));
    const postedFirst = await t.api("POST", "/messages", {
      source: { type: "app", name: "deploys" },
      messages: first,
    });
    expect(postedFirst.status).toBe(202);
    const firstIds = new Set(acceptedIds(postedFirst.body));
    await waitUntil("first 10 in sync", async () => {
      const c = await counts();
      return inSync(c) && c.postgres === 10;
    });

    await chroma.kill();
    const more = Array.from({ length: 200 }, (_, i) => message(100 + i));
    const posted = await t.api("POST", "/messages", {
      source: { type: "app", name: "deploys" },
      messages: more,
    });
    expect(posted.status).toBe(202);
    const moreIds = new Set(
      (posted.body as { accepted: { message_id: number }[] }).accepted.map((a) => a.message_id),
    );
    expect(moreIds.size).toBe(200);
    // Every vector job fails while Chroma is down and ends in the DLQ; OpenSearch gets all 210.
    // A DLQ record carries several jobs (the relay packs them): count distinct jobs, not records.
    // Nothing else reads this DLQ, so each record is taken once (long visibility) and remembered.
    const deadJobs = new Set<number>();
    await waitUntil(
      "200 vector jobs dead-lettered",
      async () => {
        for (;;) {
          const res = await sqsClient(t.config).send(
            new ReceiveMessageCommand({
              QueueUrl: t.queues.vector.dlqUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: 600,
            }),
          );
          if (!res.Messages?.length) break;
          for (const m of res.Messages)
            for (const job of parseJobRecordBody(m.Body ?? "") ?? []) deadJobs.add(job.messageId);
        }
        return [...moreIds].every((id) => deadJobs.has(id));
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    // The 1 s visibility timeout can lapse while the cold embedder handles the first batch, so a
    // first-batch job may be received again after Chroma stopped and be dead-lettered too. Those are
    // already in Chroma; every other dead job must be one of the 200.
    expect([...deadJobs].filter((id) => !moreIds.has(id) && !firstIds.has(id))).toEqual([]);

    await chroma.start();
    const before = await counts();
    expect(before).toMatchObject({ postgres: 210, opensearch: 210, chroma: 10, outboxPending: 0 });

    const report = (await t.app.schedules.reconcile.runOnce()) as ReconcileReport;
    expect(report.vector).toMatchObject({ missing: 200, enqueued: 200, stale: 0, orphan: 0 });
    expect(report.keyword).toMatchObject({ missing: 0, stale: 0, orphan: 0 });
    const after = await waitUntil(
      "equal counts",
      async () => {
        const c = await counts();
        return inSync(c) && c.chroma === 210 ? c : null;
      },
      { timeoutMs: 60_000 },
    );
    expect(after).toEqual({ postgres: 210, opensearch: 210, chroma: 210, outboxPending: 0 });
    const again = await runReconcile(container(), { dryRun: true, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(again)).toBe(0);
  });
});
