import type { Config } from "../../functions/shared/config";
import type { LocalApp, LocalAppOptions } from "../../local/app";
import { startNamespace } from "../../local/namespace";
import type { QueueUrls } from "../../local/stack/queues";
import { slackHeaders } from "./slack-fixtures";
import { createTestDatabase, type TestDatabase } from "./test-db";
import { waitUntil } from "./wait";

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

/**
 * Posts signed Slack events to the app's webhook one after the other; each is consumed from the
 * ingest queue before the next is sent (so their order is the order of arrival).
 */
export async function deliverSlackEvents(
  t: TestApp,
  signingSecret: string,
  ...payloads: readonly Record<string, unknown>[]
): Promise<void> {
  for (const p of payloads) {
    const target = t.app.pollers.ingest.counters.deleted + 1;
    const body = JSON.stringify(p);
    const res = await fetch(`${t.app.url}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...slackHeaders(signingSecret, body) },
      body,
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    await waitUntil(
      "the ingest consumer took the event",
      async () => t.app.pollers.ingest.counters.deleted >= target,
    );
  }
}
