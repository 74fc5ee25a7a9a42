import { createHash, randomBytes } from "node:crypto";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../../local/runtime/lambda-context";
import { type SqsPoller, startSqsPoller } from "../../local/runtime/sqs-poller";
import { localSqsClient, queueDepth } from "../helpers/sqs";
import { waitFor } from "../helpers/wait";

/** Against the real ElasticMQ: each test gets its own queue + DLQ (maxReceiveCount 2, visibility 1 s). */

const sqs = localSqsClient();
const created: string[] = [];
const pollers: SqsPoller[] = [];

async function makeQueues(tag: string): Promise<{ url: string; arn: string; dlqUrl: string }> {
  const name = `rt-${tag}-${randomBytes(4).toString("hex")}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl ?? "";
  created.push(dlqUrl);
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes?.QueueArn;
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: "1",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
      },
    }),
  );
  const url = main.QueueUrl ?? "";
  created.push(url);
  const arn =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] })))
      .Attributes?.QueueArn ?? "";
  return { url, arn, dlqUrl };
}

async function sendTen(url: string): Promise<string[]> {
  const bodies = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: i }));
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: bodies.map((b, i) => ({ Id: `m${i}`, MessageBody: b })),
    }),
  );
  return bodies;
}

beforeAll(async () => {
  // Fails fast with a clear error when ElasticMQ is not running.
  await sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
});

afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  await Promise.allSettled(created.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  sqs.destroy();
});

describe("sqs poller", () => {
  it("delivers records in Lambda's shape and deletes them when the handler returns nothing", async () => {
    const q = await makeQueues("shape");
    const body = '{"text":"héllo 🎉"}';
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.url,
        MessageBody: body,
        MessageAttributes: {
          kind: { DataType: "String", StringValue: "message.created" },
          version: { DataType: "Number", StringValue: "2" },
          blob: { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 3]) },
        },
      }),
    );
    const events: SQSEvent[] = [];
    const poller = startSqsPoller({
      sqs,
      queueUrl: q.url,
      functionName: "shape-worker",
      logger: quietLogger,
      handler: async (event, context) => {
        expect(context.functionName).toBe("shape-worker");
        expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
        events.push(event);
      },
    });
    pollers.push(poller);
    await waitFor(() => poller.counters.deleted === 1);
    await poller.stop();

    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0];
    expect(record).toBeDefined();
    if (!record) return;
    expect(Object.keys(record).sort()).toEqual(
      [
        "attributes",
        "awsRegion",
        "body",
        "eventSource",
        "eventSourceARN",
        "md5OfBody",
        "md5OfMessageAttributes",
        "messageAttributes",
        "messageId",
        "receiptHandle",
      ].sort(),
    );
    expect(record.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.receiptHandle.length).toBeGreaterThan(0);
    expect(record.body).toBe(body);
    expect(record.md5OfBody).toBe(createHash("md5").update(body).digest("hex"));
    expect(record.eventSource).toBe("aws:sqs");
    expect(record.eventSourceARN).toBe(q.arn);
    expect(record.awsRegion).toBe("us-east-1");
    expect(record.attributes.ApproximateReceiveCount).toBe("1");
    expect(record.attributes.SentTimestamp).toMatch(/^\d{13}$/);
    expect(record.attributes.ApproximateFirstReceiveTimestamp).toMatch(/^\d{13}$/);
    expect(typeof record.attributes.SenderId).toBe("string");
    expect(record.messageAttributes).toEqual({
      kind: {
        stringValue: "message.created",
        stringListValues: [],
        binaryListValues: [],
        dataType: "String",
      },
      version: { stringValue: "2", stringListValues: [], binaryListValues: [], dataType: "Number" },
      blob: { binaryValue: "AQID", stringListValues: [], binaryListValues: [], dataType: "Binary" },
    });
    expect(await queueDepth(sqs, q.url)).toBe(0);
    expect(poller.counters).toMatchObject({ received: 1, deleted: 1, failedItems: 0, invocations: 1 });
  });

  it("deletes all but the reported failure, which is redelivered until it lands in the DLQ", async () => {
    const q = await makeQueues("partial");
    const bodies = await sendTen(q.url);
    const poison = bodies[3] ?? "";
    const deliveries = new Map<string, number>();
    const poller = startSqsPoller({
      sqs,
      queueUrl: q.url,
      functionName: "partial-worker",
      logger: quietLogger,
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        for (const r of event.Records) deliveries.set(r.body, (deliveries.get(r.body) ?? 0) + 1);
        return {
          batchItemFailures: event.Records.filter((r) => r.body === poison).map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    pollers.push(poller);
    await waitFor(async () => (await queueDepth(sqs, q.dlqUrl)) === 1);
    // Give any wrongly kept message time to come back (visibility timeout 1 s).
    await new Promise((r) => setTimeout(r, 2_500));
    await poller.stop();

    expect(await queueDepth(sqs, q.url)).toBe(0);
    for (const b of bodies) {
      expect(deliveries.get(b), b).toBe(b === poison ? 2 : 1);
    }
    expect(poller.counters).toMatchObject({ received: 11, deleted: 9, failedItems: 2, deleteFailures: 0 });
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual([poison]);
  });

  it("deletes nothing when the handler throws; the redrive policy moves the batch to the DLQ", async () => {
    const q = await makeQueues("throw");
    await sendTen(q.url);
    const poller = startSqsPoller({
      sqs,
      queueUrl: q.url,
      functionName: "throwing-worker",
      logger: quietLogger,
      handler: async () => {
        throw new Error("downstream is down");
      },
    });
    pollers.push(poller);
    await waitFor(() => poller.counters.invocations >= 1);
    // Right after the first failure every message is still held by the queue.
    expect(await queueDepth(sqs, q.url)).toBe(10);
    await waitFor(async () => (await queueDepth(sqs, q.dlqUrl)) === 10);
    await poller.stop();
    expect(poller.counters.deleted).toBe(0);
    expect(poller.counters.failedInvocations).toBe(poller.counters.invocations);
    expect(poller.counters.received).toBe(20);
    expect(await queueDepth(sqs, q.url)).toBe(0);
  });

  it("treats an unknown itemIdentifier as a failure of the whole batch", async () => {
    const q = await makeQueues("invalid");
    await sendTen(q.url);
    const poller = startSqsPoller({
      sqs,
      queueUrl: q.url,
      functionName: "invalid-worker",
      logger: quietLogger,
      handler: async () => ({ batchItemFailures: [{ itemIdentifier: "not-in-this-batch" }] }),
    });
    pollers.push(poller);
    await waitFor(() => poller.counters.invocations >= 1);
    await poller.stop();
    expect(poller.counters.deleted).toBe(0);
    expect(poller.counters.failedInvocations).toBe(poller.counters.invocations);
    expect(await queueDepth(sqs, q.url)).toBe(10);
  });

  it("stop() finishes the in-flight batch before returning", async () => {
    const q = await makeQueues("stop");
    await sendTen(q.url);
    let started = false;
    const poller = startSqsPoller({
      sqs,
      queueUrl: q.url,
      functionName: "slow-worker",
      logger: quietLogger,
      visibilityTimeout: 10,
      handler: async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 500));
      },
    });
    pollers.push(poller);
    await waitFor(() => started);
    const t0 = Date.now();
    await poller.stop();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(poller.counters.deleted).toBe(poller.counters.received);
    expect(poller.counters.deleted).toBeGreaterThan(0);
    expect(await queueDepth(sqs, q.url)).toBe(10 - poller.counters.deleted);
  });
});
