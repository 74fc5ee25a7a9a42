import type { Config } from "../../functions/shared/config";
import type { LocalApp, LocalAppOptions } from "../../local/app";
import { startNamespace } from "../../local/namespace";
import type { QueueUrls } from "../../local/stack/queues";
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
 * OpenSearch index and Chroma collection, and the API on a free port (local/namespace.ts).
 */
export async function startTestApp(
  label: string,
  opts: { maxReceiveCount?: number; visibilityTimeout?: number; env?: Record<string, string> } & Partial<
    Omit<LocalAppOptions, "config">
  > = {},
): Promise<TestApp> {
  return startNamespace({
    prefix: "t",
    label,
    createDatabase: () => createTestDatabase(label.replace(/\W/g, "_")),
    ...opts,
  });
}
