import { randomBytes } from "node:crypto";
import { DeleteQueueCommand } from "@aws-sdk/client-sqs";
import { closeClients, sqsClient } from "../../functions/shared/clients";
import { type Config, loadConfig } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import { type LocalApp, type LocalAppOptions, startLocalApp } from "../../local/app";
import type { QueueUrls } from "../../local/stack/queues";
import { ensureQueues } from "../../local/stack/queues";
import { createTestDatabase, type TestDatabase } from "./test-db";

export interface TestApp {
  readonly app: LocalApp;
  readonly config: Config;
  readonly db: TestDatabase;
  readonly queues: QueueUrls;
  /** Calls the local API Gateway. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/**
 * A whole Trisearch on the real local stack, isolated by name: its own database, queues,
 * OpenSearch index and Chroma collection, and the API on a free port.
 */
export async function startTestApp(
  label: string,
  opts: { maxReceiveCount?: number; visibilityTimeout?: number; env?: Record<string, string> } & Partial<
    Omit<LocalAppOptions, "config">
  > = {},
): Promise<TestApp> {
  const suffix = `${label}-${randomBytes(3).toString("hex")}`;
  const db = await createTestDatabase(label.replace(/\W/g, "_"));
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `t-${suffix}`,
    OPENSEARCH_INDEX: `t-messages-${suffix}`,
    CHROMA_COLLECTION: `t-messages-${suffix}`,
    LOG_LEVEL: "ERROR",
    ...opts.env,
  });
  const queues = await ensureQueues(sqsClient(config), config.QUEUE_PREFIX, {
    maxReceiveCount: opts.maxReceiveCount ?? 5,
    visibilityTimeout: opts.visibilityTimeout ?? 30,
  });
  const app = await startLocalApp({ config, port: 0, quiet: true, relayEveryMs: 500, ...opts });
  return {
    app,
    config,
    db,
    queues,
    async api(method, path, body) {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
    async close() {
      await app.stop();
      const c = createContainer(config);
      await Promise.allSettled([
        c.keywordIndex().then((k) => k.deleteIndex()),
        c.vectorIndex().deleteCollection(),
        ...Object.values(queues)
          .flatMap((q) => [q.url, q.dlqUrl])
          .map((QueueUrl) => sqsClient(config).send(new DeleteQueueCommand({ QueueUrl }))),
      ]);
      await closeClients();
      await db.drop();
    },
  };
}
