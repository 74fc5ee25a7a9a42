import { randomUUID } from "node:crypto";
import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import {
  chromaClient,
  closeClients,
  openSearchClient,
  pgPool,
  sqsClient,
} from "../../functions/shared/clients";
import { config } from "../../functions/shared/config";
import { ensureQueues, QUEUE_NAMES, type QueueUrls } from "../../local/stack/queues";

// Proves each local service is the real thing, reached through the project's own clients.
const suffix = randomUUID().slice(0, 8);

afterAll(async () => {
  await closeClients();
});

describe("PostgreSQL", () => {
  it("answers select 1 on the test database", async () => {
    const res = await pgPool().query<{ one: number; db: string }>(
      "select 1 as one, current_database() as db",
    );
    expect(res.rows[0]).toEqual({ one: 1, db: "trisearch_test" });
    expect(config().DATABASE_URL).toMatch(/\/trisearch_test$/);
  });
});

describe("OpenSearch", () => {
  const os = openSearchClient();
  const index = `stack-test-${suffix}`;

  afterAll(async () => {
    await os.indices.delete({ index }).catch(() => undefined);
  });

  it("is OpenSearch 2.19.x", async () => {
    const res = await os.info();
    expect(res.body.version.distribution).toBe("opensearch");
    expect(res.body.version.number).toMatch(/^2\.19\./);
  });

  it("indexes a document and finds it with a match query", async () => {
    await os.index({
      index,
      id: "1",
      body: { content: "OAuth2 token refresh logs users out on mobile" },
      refresh: true,
    });
    await os.index({ index, id: "2", body: { content: "Billing webhook retries" }, refresh: true });
    const res = await os.search({ index, body: { query: { match: { content: "token refresh" } } } });
    const ids = res.body.hits.hits.map((h) => h._id);
    expect(ids).toEqual(["1"]);
  });

  it("has the english analyzer (analysis-common module)", async () => {
    const res = await os.indices.analyze({ body: { analyzer: "english", text: "running users" } });
    expect(res.body.tokens?.map((t) => t.token)).toEqual(["run", "user"]);
  });
});

describe("SQS (ElasticMQ)", () => {
  const sqs = sqsClient();
  const prefix = `stack-test-${suffix}`;
  let queues: QueueUrls;

  afterAll(async () => {
    if (!queues) return;
    for (const name of QUEUE_NAMES) {
      for (const url of [queues[name].url, queues[name].dlqUrl]) {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
      }
    }
  });

  it("ensureQueues creates every queue with a DLQ redrive policy, idempotently", async () => {
    queues = await ensureQueues(sqs, prefix, { maxReceiveCount: 2, visibilityTimeout: 1 });
    const again = await ensureQueues(sqs, prefix, { maxReceiveCount: 2, visibilityTimeout: 1 });
    expect(again).toEqual(queues);
    for (const name of QUEUE_NAMES) {
      expect(queues[name].url).toMatch(new RegExp(`/${prefix}-${name}$`));
      expect(queues[name].dlqUrl).toMatch(new RegExp(`/${prefix}-${name}-dlq$`));
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queues[name].url, AttributeNames: ["All"] }),
      );
      const redrive = JSON.parse(attrs.Attributes?.["RedrivePolicy"] ?? "{}") as {
        deadLetterTargetArn?: string;
        maxReceiveCount?: number | string;
      };
      expect(Number(redrive.maxReceiveCount)).toBe(2);
      expect(redrive.deadLetterTargetArn).toMatch(new RegExp(`${prefix}-${name}-dlq$`));
      expect(attrs.Attributes?.["VisibilityTimeout"]).toBe("1");
    }
  });

  it("sends and receives a message", async () => {
    const url = queues.keyword.url;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ id: 42 }) }));
    const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    expect(res.Messages).toHaveLength(1);
    const msg = res.Messages![0]!;
    expect(JSON.parse(msg.Body ?? "")).toEqual({ id: 42 });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: msg.ReceiptHandle! }));
  });

  it("moves a message received more than maxReceiveCount times to its DLQ", async () => {
    const { url, dlqUrl } = queues.vector;
    const body = `poison-${suffix}`;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    let receives = 0;
    let dead: string | undefined;
    // Receive without deleting; each redelivery follows the 1 s visibility timeout. The
    // receive after the 2nd one moves the message to the DLQ instead of delivering it.
    for (let i = 0; i < 15 && !dead; i++) {
      const res = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2, VisibilityTimeout: 1 }),
      );
      if (res.Messages?.some((m) => m.Body === body)) {
        receives++;
        continue;
      }
      const fromDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
      dead = fromDlq.Messages?.find((m) => m.Body === body)?.Body;
    }
    expect(receives).toBe(2);
    expect(dead).toBe(body);
  });
});

describe("Chroma", () => {
  const chroma = chromaClient();
  const name = `stack_test_${suffix}`;

  afterAll(async () => {
    await chroma.deleteCollection({ name }).catch(() => undefined);
  });

  it("answers the heartbeat", async () => {
    expect(await chroma.heartbeat()).toBeGreaterThan(0);
  });

  it("upserts and queries vectors in a collection", async () => {
    // Embeddings are passed explicitly; no default embedding function is loaded.
    const collection = await chroma.getOrCreateCollection({
      name,
      embeddingFunction: null,
      configuration: { hnsw: { space: "cosine" } },
    });
    await collection.upsert({
      ids: ["a", "b", "c"],
      embeddings: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      documents: ["alpha", "beta", "gamma"],
      metadatas: [{ n: 1 }, { n: 2 }, { n: 3 }],
    });
    expect(await collection.count()).toBe(3);
    const res = await collection.query({ queryEmbeddings: [[0.1, 0.9, 0]], nResults: 2 });
    expect(res.ids[0]).toEqual(["b", "a"]);
    expect(res.documents[0]?.[0]).toBe("beta");
  });
});
