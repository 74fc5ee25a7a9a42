import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Client as OpenSearchClient } from "@opensearch-project/opensearch";
import { ChromaClient } from "chromadb";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AppError,
  isDependencyUnavailable,
  PermanentError,
  toAppError,
  ValidationError,
} from "../../functions/core/errors";

/**
 * Issue 22: a dependency outage must be the retryable `unavailable` (503 + Retry-After, an SQS
 * item failure), never `internal_error` (500). Each error here comes from the real client library
 * (pg, pg-pool, OpenSearch, Chroma, the AWS SDK) failing against a closed port or a local server
 * that answers the way the service does when overloaded.
 */

/** A port nothing listens on: bind it, then close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let stub: Server;
let stubUrl: string;
/** The status (and body) the stub answers with next. */
let reply: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: "{}" };

beforeAll(async () => {
  stub = createServer((req, res) => {
    req.resume();
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    res.end(reply.body);
  });
  await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => stub.close(() => r()));
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: unknown) => err,
  );

function expectUnavailable(err: unknown): void {
  expect(isDependencyUnavailable(err)).toBe(true);
  const app = toAppError(err);
  expect(app.code).toBe("unavailable");
  expect(app.status).toBe(503);
  expect(app.retryable).toBe(true);
  // The driver's error stays reachable for the log.
  expect(app.cause).toBe(err);
}

describe("dependency failures are one retryable `unavailable`", () => {
  it("PostgreSQL refusing connections (server down)", async () => {
    const port = await closedPort();
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/x`, max: 1 });
    try {
      expectUnavailable(await failure(pool.query("select 1")));
    } finally {
      await pool.end();
    }
  });

  it("PostgreSQL pool exhausted or connect timeout (pg-pool's own error)", async () => {
    // A server that accepts TCP and never speaks: pg-pool times out waiting for the connection.
    const silent = createServer();
    const sockets: import("node:net").Socket[] = [];
    silent.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${port}/x`,
      max: 1,
      connectionTimeoutMillis: 200,
    });
    try {
      expectUnavailable(await failure(pool.query("select 1")));
    } finally {
      for (const s of sockets) s.destroy();
      await pool.end().catch(() => undefined);
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("PostgreSQL SQLSTATEs of a server going away or overloaded", () => {
    for (const code of ["57P01", "57P03", "53300", "08006", "40001"]) {
      expect(isDependencyUnavailable(Object.assign(new Error("x"), { code }))).toBe(true);
    }
    // Errors in the data (NUL, a bad date) are not an outage.
    for (const code of ["22P05", "22021", "22008", "23505", "42P01"]) {
      expect(isDependencyUnavailable(Object.assign(new Error("x"), { code }))).toBe(false);
    }
  });

  it("OpenSearch down, 429 and 5xx", async () => {
    const down = new OpenSearchClient({ node: `http://127.0.0.1:${await closedPort()}`, maxRetries: 0 });
    expectUnavailable(await failure(down.search({ index: "x", body: {} })));
    const client = new OpenSearchClient({ node: stubUrl, maxRetries: 0 });
    for (const status of [429, 500, 503]) {
      reply = {
        status,
        body: JSON.stringify({ error: { type: "es_rejected_execution_exception" }, status }),
      };
      expectUnavailable(await failure(client.search({ index: "x", body: {} })));
    }
    // A 400 (a query OpenSearch can never run) is not an outage.
    reply = { status: 400, body: JSON.stringify({ error: { type: "parsing_exception" }, status: 400 }) };
    expect(isDependencyUnavailable(await failure(client.search({ index: "x", body: {} })))).toBe(false);
    await Promise.all([down.close(), client.close()]);
  });

  it("Chroma unavailable", async () => {
    const chroma = new ChromaClient({ host: "127.0.0.1", port: await closedPort(), ssl: false });
    expectUnavailable(await failure(chroma.heartbeat()));
  });

  it("SQS throttling and server errors (after the SDK's own retries)", async () => {
    const sqs = new SQSClient({
      region: "us-east-1",
      endpoint: stubUrl,
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    const send = () => sqs.send(new SendMessageCommand({ QueueUrl: `${stubUrl}/0/q`, MessageBody: "x" }));
    reply = {
      status: 400,
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-query-error": "ThrottlingException;Sender",
      },
      body: JSON.stringify({ __type: "com.amazonaws.sqs#ThrottlingException", message: "Rate exceeded" }),
    };
    expectUnavailable(await failure(send()));
    reply = { status: 503, headers: { "content-type": "application/x-amz-json-1.0" }, body: "{}" };
    expectUnavailable(await failure(send()));
    const down = new SQSClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    expectUnavailable(
      await failure(down.send(new SendMessageCommand({ QueueUrl: "http://x/0/q", MessageBody: "x" }))),
    );
    sqs.destroy();
    down.destroy();
  });

  it("looks through wrapping causes and aggregate errors", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    expect(isDependencyUnavailable(new Error("wrapped", { cause: refused }))).toBe(true);
    expect(isDependencyUnavailable(new AggregateError([new Error("a"), refused]))).toBe(true);
  });

  it("our own bugs stay 500, client errors keep their status", () => {
    const bug = toAppError(new TypeError("Cannot read properties of undefined"));
    expect(bug.code).toBe("internal_error");
    expect(bug.status).toBe(500);
    expect(bug.retryable).toBe(false);
    expect(toAppError(new ValidationError("bad")).status).toBe(400);
    const permanent = new PermanentError("invalid_embedding", "NaN");
    expect(toAppError(permanent)).toBe(permanent);
    expect(isDependencyUnavailable(new AppError("x", "y", { status: 500 }))).toBe(false);
  });
});
