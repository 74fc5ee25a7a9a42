import { randomBytes } from "node:crypto";
import { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { quietLogger } from "../../local/runtime/lambda-context";
import { type SqsPoller, startSqsPoller, validateBatching } from "../../local/runtime/sqs-poller";
import { localSqsClient, queueDepth } from "../helpers/sqs";
import { waitFor } from "../helpers/wait";

/** The batching window (Lambda's MaximumBatchingWindowInSeconds) against the real ElasticMQ. */

const sqs = localSqsClient();
const created: string[] = [];
const pollers: SqsPoller[] = [];

async function makeQueue(tag: string): Promise<string> {
  const res = await sqs.send(
    new CreateQueueCommand({
      QueueName: `rtb-${tag}-${randomBytes(4).toString("hex")}`,
      Attributes: { VisibilityTimeout: "30" },
    }),
  );
  const url = res.QueueUrl ?? "";
  created.push(url);
  return url;
}

async function send(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: Math.min(10, count - i) }, (_, k) => ({
          Id: `m${i + k}`,
          MessageBody: JSON.stringify({ n: i + k }),
        })),
      }),
    );
  }
}

afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  await Promise.allSettled(created.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  sqs.destroy();
});

describe("sqs poller batching window", () => {
  it("enforces Lambda's limits: above 10 records needs a window; at most 10,000 records and 300 s", () => {
    expect(() => validateBatching(10, 0)).not.toThrow();
    expect(() => validateBatching(500, 1)).not.toThrow();
    expect(() => validateBatching(11, 0)).toThrow(/maxBatchingWindowSeconds/);
    expect(() => validateBatching(10_001, 1)).toThrow(/batchSize/);
    expect(() => validateBatching(100, 301)).toThrow(/maxBatchingWindowSeconds/);
    expect(() => validateBatching(100, 0.5)).toThrow(/maxBatchingWindowSeconds/);
  });

  it("gathers a backlog into one invocation of batchSize records, over several receives", async () => {
    const url = await makeQueue("full");
    await send(url, 45);
    const sizes: number[] = [];
    const poller = startSqsPoller({
      sqs,
      queueUrl: url,
      functionName: "gather-worker",
      logger: quietLogger,
      batchSize: 40,
      // A long window: the batch must be cut because it is full, not because the window closed.
      maxBatchingWindowSeconds: 5,
      handler: async (event: SQSEvent) => {
        sizes.push(event.Records.length);
        expect(new Set(event.Records.map((r) => r.messageId)).size).toBe(event.Records.length);
      },
    });
    pollers.push(poller);
    await waitFor(() => sizes.length >= 1, 15_000);
    expect(sizes[0]).toBe(40);
    await waitFor(() => poller.counters.deleted === 45, 30_000);
    await poller.stop();
    expect(sizes).toEqual([40, 5]);
    expect(await queueDepth(sqs, url)).toBe(0);
  });

  it("waits for the window when the queue holds fewer than batchSize records", async () => {
    const url = await makeQueue("window");
    await send(url, 5);
    let invokedAt = 0;
    let records = 0;
    const started = Date.now();
    const poller = startSqsPoller({
      sqs,
      queueUrl: url,
      functionName: "window-worker",
      logger: quietLogger,
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      handler: async (event: SQSEvent) => {
        invokedAt = Date.now();
        records += event.Records.length;
      },
    });
    pollers.push(poller);
    await waitFor(() => invokedAt > 0, 15_000);
    await poller.stop();
    expect(records).toBe(5);
    expect(poller.counters.invocations).toBe(1);
    expect(invokedAt - started).toBeGreaterThanOrEqual(1_000);
  });

  it("deletes all but the reported failures of a gathered batch", async () => {
    const url = await makeQueue("partial");
    await send(url, 30);
    let failedId = "";
    const poller = startSqsPoller({
      sqs,
      queueUrl: url,
      functionName: "partial-worker",
      logger: quietLogger,
      batchSize: 30,
      maxBatchingWindowSeconds: 5,
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        failedId ||= event.Records[7]?.messageId ?? "";
        return {
          batchItemFailures: event.Records.filter((r) => r.messageId === failedId).map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    pollers.push(poller);
    await waitFor(() => poller.counters.deleted === 29, 30_000);
    await poller.stop();
    expect(poller.counters.invocations).toBe(1);
    expect(poller.counters.failedItems).toBe(1);
    // The failed record stays in flight until its visibility timeout (30 s) ends.
    expect(await queueDepth(sqs, url)).toBe(1);
  });
});
