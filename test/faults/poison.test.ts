import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { parseJobRecordBody } from "../../functions/shared/sqs-batch";
import { type Namespace, startNamespace } from "../../local/namespace";
import { waitUntil } from "../helpers/wait";
import { expectConverged, recordFault, silenceLogs } from "./helpers";

/**
 * Poison records on the keyword and ingest queues: each fails alone (batch item failure), is
 * received maxReceiveCount times and then sits in its DLQ, while the good messages around it are
 * indexed. Nothing is killed here: the fault is the record itself.
 */
describe("fault: poison messages end in the DLQ", () => {
  let ns: Namespace;
  let restoreLogs: () => void;

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    ns = await startNamespace({ prefix: "f", label: "poison", maxReceiveCount: 2, visibilityTimeout: 4 });
  });
  afterAll(async () => {
    await ns?.close();
    restoreLogs();
  });

  it("parks each poison record in its DLQ after 2 receives and indexes every good message", async () => {
    const sqs = sqsClient(ns.config);
    const poison = {
      keyword: ["not json at all", JSON.stringify({ jobs: [{ messageId: -1, op: "upsert", version: 1 }] })],
      ingest: [JSON.stringify({ type: "event_callback", event: { type: "message" } })],
    };
    const t0 = performance.now();
    for (const [queue, bodies] of Object.entries(poison) as ["keyword" | "ingest", string[]][]) {
      for (const MessageBody of bodies)
        await sqs.send(new SendMessageCommand({ QueueUrl: ns.queues[queue].url, MessageBody }));
    }
    const messages = Array.from({ length: 20 }, (_, i) => ({
      external_id: `good-${i}`,
      channel: "#ops",
      author: "a@company.com",
      content: `Good message ${i} next to a poison record`,
      timestamp: new Date(Date.UTC(2025, 11, 6, 0, i)).toISOString(),
    }));
    expect(
      (await ns.api("POST", "/messages", { source: { type: "app", name: "drill" }, messages })).status,
    ).toBe(202);
    await expectConverged(container(), 20);

    const dead: Record<string, string[]> = { keyword: [], ingest: [] };
    await waitUntil(
      "poison records in their DLQs",
      async () => {
        for (const queue of ["keyword", "ingest"] as const) {
          const res = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: ns.queues[queue].dlqUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: 600,
            }),
          );
          for (const m of res.Messages ?? []) dead[queue]!.push(m.Body ?? "");
        }
        return dead.keyword!.length >= 2 && dead.ingest!.length >= 1;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    // Each poison record once. A good job can only join it if a batch outlived the visibility
    // timeout twice (a loaded machine): then it is a job record, and its message is indexed anyway.
    for (const body of poison.keyword) expect(dead.keyword!.filter((b) => b === body)).toHaveLength(1);
    for (const extra of dead.keyword!.filter((b) => !poison.keyword.includes(b))) {
      expect(parseJobRecordBody(extra)).not.toBeNull();
    }
    expect(dead.ingest).toEqual(poison.ingest);
    recordFault({
      fault: "Poison records (2 on the keyword queue, 1 on the ingest queue) among 20 good messages",
      accepted: "20 messages (202) + 3 poison records sent straight to the queues",
      after: "each poison record once in its DLQ after 2 receives; 20 good messages in all stores, no drift",
      recoveryMs: Math.round(performance.now() - t0),
    });
  });
});
