import { createHash } from "node:crypto";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { type Namespace, startNamespace } from "../../local/namespace";
import { expectConverged, expectNoDeadLetters, recordFault, silenceLogs, sleep } from "./helpers";

/**
 * A Bedrock-compatible InvokeModel endpoint (local HTTP/2 stand-in: Bedrock is AWS-only) that
 * throttles every call for a while, then one in three: the embedder retries, records fail alone and
 * come back through the queue, search on the semantic leg alone is a 503 (hybrid: degraded), and
 * every message ends embedded once, none in the DLQ.
 */
function fakeEmbedding(text: string, dimensions: number): number[] {
  const bytes = createHash("sha256").update(text).digest();
  const v = Array.from({ length: dimensions }, (_, i) => (bytes[i % bytes.length]! - 127.5) / 128 + i * 1e-4);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe("fault: Bedrock throttling", () => {
  let server: Http2Server;
  let ns: Namespace;
  let restoreLogs: () => void;
  let storm = true;
  let calls = 0;
  let throttledCalls = 0;

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls++;
        if (storm || calls % 3 === 0) {
          throttledCalls++;
          res.writeHead(429, {
            "content-type": "application/json",
            "x-amzn-ErrorType": "ThrottlingException",
          });
          res.end(JSON.stringify({ message: "Too many requests, please wait before trying again." }));
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          inputText: string;
          dimensions: number;
        };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            embedding: fakeEmbedding(body.inputText, body.dimensions),
            inputTextTokenCount: 3,
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    ns = await startNamespace({
      prefix: "f",
      label: "bedrock",
      env: {
        EMBEDDER: "bedrock",
        BEDROCK_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        BEDROCK_DIMENSIONS: "256",
      },
      visibilityTimeout: 2,
      maxReceiveCount: 1000,
    });
  });
  afterAll(async () => {
    await ns?.close();
    await new Promise<void>((done) => server.close(() => done()));
    restoreLogs();
  });

  it("rides out the throttling: semantic 503 / hybrid degraded meanwhile, every message embedded once", async () => {
    const messages = Array.from({ length: 30 }, (_, i) => ({
      external_id: `bedrock-${i}`,
      channel: "#ml",
      author: "ml@company.com",
      content: `Embedding drill ${i}: the model endpoint throttles, message ${i} is embedded exactly once`,
      timestamp: new Date(Date.UTC(2025, 11, 7, 0, i)).toISOString(),
    }));
    expect(
      (await ns.api("POST", "/messages", { source: { type: "app", name: "drill" }, messages })).status,
    ).toBe(202);
    expect((await ns.api("GET", "/search?q=embedding+drill&strategy=semantic")).status).toBe(503);
    const hybrid = await ns.api("GET", "/search?q=embedding+drill");
    expect(hybrid.status).toBe(200);
    expect((hybrid.body as { degraded?: string[] }).degraded).toEqual(["semantic"]);

    await sleep(2000);
    storm = false;
    const t0 = performance.now();
    // The adaptive retry mode's client-side limiter stays slow while 1 call in 3 is still throttled:
    // recovery measured 95-100 s on the 2-core machine (12-04), so the wait is twice that.
    await expectConverged(container(), 30, 200_000);
    const recoveryMs = Math.round(performance.now() - t0) + 2000;
    await expectNoDeadLetters(sqsClient(ns.config), ns.queues);
    expect(throttledCalls).toBeGreaterThan(0);
    expect((await ns.api("GET", "/search?q=embedding+drill&strategy=semantic")).status).toBe(200);
    recordFault({
      fault: "Bedrock endpoint: every call 429 ThrottlingException for ~2 s, then 1 in 3",
      accepted: `30 (202); ${throttledCalls} of ${calls} InvokeModel calls throttled; search semantic 503, hybrid 200 degraded [semantic]`,
      after: "30 in PostgreSQL, OpenSearch and Chroma, outbox empty, no drift, no DLQ",
      recoveryMs,
    });
  }, 280_000);
});
