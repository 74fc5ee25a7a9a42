import { inSync, storeCounts } from "../../cli/commands/verify";
import type { Config } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import type { LocalApp, LocalAppOptions } from "../../local/app";
import { startNamespace } from "../../local/namespace";
import type { QueueUrls } from "../../local/stack/queues";
import { OpenApiContract, validateOpenApiDocument } from "./openapi-contract";
import { slackHeaders } from "./slack-fixtures";
import { createTestDatabase, type TestDatabase } from "./test-db";
import { waitUntil } from "./wait";

interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
}

export interface TestApp {
  readonly app: LocalApp;
  readonly config: Config;
  readonly db: TestDatabase;
  readonly queues: QueueUrls;
  /**
   * Calls the local API Gateway with a JSON body (or a string as is). Every response is checked
   * against the app's /openapi.json: an undocumented route, status or body fails the test.
   */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** The same, with the caller's headers and a raw body (Slack's signed requests, forms). */
  request(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: string },
  ): Promise<ApiResponse>;
  /** The contract the responses are checked against. */
  readonly contract: OpenApiContract;
  /** Restarts the app with more settings (same database, index, collection and queues). */
  reconfigure(env: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** One validated document per process: the contract is the same for every app. */
let contractOnce: Promise<OpenApiContract> | undefined;

async function loadContract(url: string): Promise<OpenApiContract> {
  const res = await fetch(`${url}/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const doc: unknown = await res.json();
  const verdict = await validateOpenApiDocument(doc);
  if (!verdict.valid)
    throw new Error(`/openapi.json is not valid OpenAPI: ${JSON.stringify(verdict.errors)}`);
  return new OpenApiContract(doc as ConstructorParameters<typeof OpenApiContract>[0]);
}

/**
 * Ingests `messages` through `POST /messages` (expects 202) and waits until PostgreSQL holds them
 * and both indexes agree with it (verify's counts).
 */
export async function ingestAndWait(
  t: TestApp,
  source: { type: string; name: string },
  messages: readonly object[],
): Promise<void> {
  const res = await t.api("POST", "/messages", { source, messages });
  if (res.status !== 202) throw new Error(`POST /messages: ${res.status} ${JSON.stringify(res.body)}`);
  await waitUntil(`${messages.length} messages indexed`, async () => {
    const counts = await storeCounts(createContainer(t.config));
    return inSync(counts) && counts.postgres === messages.length;
  });
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
  const ns = await startNamespace({
    prefix: "t",
    label,
    createDatabase: () => createTestDatabase(label.replace(/\W/g, "_")),
    ...opts,
  });
  let contract: OpenApiContract;
  try {
    contractOnce ??= loadContract(ns.app.url);
    contract = await contractOnce;
  } catch (err) {
    contractOnce = undefined;
    await ns.close();
    throw err;
  }
  const request: TestApp["request"] = async (method, path, init = {}) => {
    const res = await fetch(`${ns.app.url}${path}`, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json")) {
      try {
        body = JSON.parse(text);
      } catch {
        // a JSON content type with a broken body: the contract check reports it
      }
    }
    contract.check(method, path, { status: res.status, contentType: res.headers.get("content-type"), body });
    return { status: res.status, headers: res.headers, body };
  };
  return {
    get app() {
      return ns.app;
    },
    get config() {
      return ns.config as Config;
    },
    db: ns.db as TestDatabase,
    queues: ns.queues,
    contract,
    request,
    reconfigure: (env) => ns.reconfigure(env),
    async api(method, path, body) {
      const res = await request(
        method,
        path,
        body === undefined
          ? {}
          : {
              headers: { "content-type": "application/json" },
              body: typeof body === "string" ? body : JSON.stringify(body),
            },
      );
      return { status: res.status, body: res.body };
    },
    close: () => ns.close(),
  };
}

/** Slack's own redelivery of an event its webhook did not take (X-Slack-Retry-Num 1..3). */
const SLACK_RETRY_DELAYS_MS = [500, 2_000, 5_000] as const;

/**
 * Posts signed Slack events to the app's webhook one after the other; each is consumed from the
 * ingest queue before the next is sent (so their order is the order of arrival). A 5xx is
 * redelivered with the retry headers, as Slack does (the webhook answers 503 when it could not
 * enqueue, so that nothing is lost); a 4xx, or a 5xx on every attempt, fails the test with
 * each answer.
 */
export async function deliverSlackEvents(
  t: TestApp,
  signingSecret: string,
  ...payloads: readonly Record<string, unknown>[]
): Promise<void> {
  for (const p of payloads) {
    const target = t.app.pollers.ingest.counters.deleted + 1;
    const body = JSON.stringify(p);
    const answers: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const retry: Record<string, string> =
        attempt === 0 ? {} : { "x-slack-retry-num": String(attempt), "x-slack-retry-reason": "http_error" };
      const res = await t.request("POST", "/slack/events", {
        headers: { "content-type": "application/json", ...slackHeaders(signingSecret, body), ...retry },
        body,
      });
      if (res.status === 200) break;
      answers.push(`${res.status} ${JSON.stringify(res.body)}`);
      const delay = SLACK_RETRY_DELAYS_MS[attempt];
      if (res.status < 500 || delay === undefined) {
        throw new Error(`webhook refused the event: ${answers.join("; ")}`);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    await waitUntil(
      "the ingest consumer took the event",
      async () => t.app.pollers.ingest.counters.deleted >= target,
    );
  }
}
