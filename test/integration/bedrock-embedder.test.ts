import { createHash } from "node:crypto";
import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import type { AddressInfo } from "node:net";
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BedrockEmbedder } from "../../functions/adapters/bedrock/bedrock-embedder";
import { PermanentError, RetryableError } from "../../functions/core/errors";
import { bedrockClient, closeClients } from "../../functions/shared/clients";
import { loadConfig } from "../../functions/shared/config";

/** A deterministic unit vector per text, so the test can check which text each result belongs to. */
function fakeEmbedding(text: string, dimensions: number): number[] {
  let seed = createHash("sha256").update(text).digest().readUInt32LE(0);
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const v = Array.from({ length: dimensions }, next);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

interface Call {
  readonly method: string;
  readonly modelId: string;
  readonly body: { inputText: string; dimensions: number; normalize: boolean };
}

type Behaviour = (
  call: Call,
  n: number,
) => { status: number; headers?: Record<string, string>; body: unknown };

const ok: Behaviour = (call) => ({
  status: 200,
  body: {
    embedding: fakeEmbedding(call.body.inputText, call.body.dimensions),
    inputTextTokenCount: call.body.inputText.split(" ").length,
  },
});
const throttled = {
  status: 429,
  headers: { "x-amzn-ErrorType": "ThrottlingException" },
  body: { message: "Too many requests" },
};

/**
 * The Bedrock runtime client's default transport is HTTP/2 (NodeHttp2Handler, h2c for an http://
 * endpoint), so the fake endpoint speaks HTTP/2 cleartext rather than node:http's HTTP/1.1.
 */
describe("BedrockEmbedder against a local InvokeModel endpoint", () => {
  let server: Http2Server;
  let client: BedrockRuntimeClient;
  let endpoint: string;
  let calls: Call[];
  let behaviour: Behaviour;
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const match = /^\/model\/([^/]+)\/invoke$/.exec(req.url ?? "");
        const call: Call = {
          method: req.method ?? "",
          modelId: match ? decodeURIComponent(match[1]!) : `unexpected path ${req.url}`,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        };
        calls.push(call);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // A short delay lets concurrent requests overlap, so the concurrency bound is observable.
        setTimeout(() => {
          inFlight--;
          const answer = behaviour(call, calls.length);
          res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
          res.end(JSON.stringify(answer.body));
        }, 5);
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  beforeEach(() => {
    calls = [];
    behaviour = ok;
    maxInFlight = 0;
    client = clientWith({});
  });

  // A fresh client per test: the adaptive rate limiter of one test's throttling does not slow the next.
  afterEach(() => closeClients());

  /**
   * The client the functions use (functions/shared/clients.ts: the SDK's adaptive retry mode, the only
   * retry layer), so the calls counted here are the SDK's attempts.
   */
  function clientWith(env: Record<string, string>): BedrockRuntimeClient {
    return bedrockClient(loadConfig({ BEDROCK_ENDPOINT: endpoint, AWS_REGION: "us-east-1", ...env }));
  }

  it("sends one Titan v2 request per text and returns the vectors in order", async () => {
    const embedder = new BedrockEmbedder(client, { dimensions: 256, concurrency: 3 });
    const texts = Array.from({ length: 10 }, (_, i) => `message ${i}: deploy is blocked`);
    const vectors = await embedder.embed(texts);

    expect(embedder.modelId).toBe("bedrock:amazon.titan-embed-text-v2:0:256");
    expect(embedder.dimension).toBe(256);
    expect(vectors).toEqual(texts.map((t) => fakeEmbedding(t, 256)));
    expect(calls).toHaveLength(10);
    for (const call of calls) {
      expect(call.method).toBe("POST");
      expect(call.modelId).toBe("amazon.titan-embed-text-v2:0");
      expect(call.body.dimensions).toBe(256);
      expect(call.body.normalize).toBe(true);
    }
    expect(calls.map((c) => c.body.inputText).sort()).toEqual([...texts].sort());
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(3);
  });

  it("embeds a search query with one request", async () => {
    const embedder = new BedrockEmbedder(client, { dimensions: 256 });
    expect(await embedder.embedQuery("users can't login")).toEqual(fakeEmbedding("users can't login", 256));
    expect(calls.map((c) => c.body.inputText)).toEqual(["users can't login"]);
  });

  it("returns [] without calling Bedrock for no texts", async () => {
    expect(await new BedrockEmbedder(client).embed([])).toEqual([]);
    expect(calls).toHaveLength(0);
  });

  it("retries throttling and then succeeds", async () => {
    behaviour = (call, n) => (n <= 2 ? throttled : ok(call, n));
    const embedder = new BedrockEmbedder(client, { dimensions: 512 });
    const [vector] = await embedder.embed(["user login problems"]);
    expect(vector).toEqual(fakeEmbedding("user login problems", 512));
    expect(calls).toHaveLength(3);
  });

  it("gives up with a RetryableError after a bounded number of attempts", async () => {
    behaviour = () => throttled;
    const embedder = new BedrockEmbedder(clientWith({ BEDROCK_MAX_ATTEMPTS: "4" }));
    const err = await embedder.embed(["x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryable).toBe(true);
    expect((err as RetryableError).cause).toMatchObject({ name: "ThrottlingException" });
    expect(calls).toHaveLength(4);
  });

  it("retries a 503 ServiceUnavailableException", async () => {
    behaviour = (call, n) =>
      n === 1
        ? {
            status: 503,
            headers: { "x-amzn-ErrorType": "ServiceUnavailableException" },
            body: { message: "busy" },
          }
        : ok(call, n);
    const embedder = new BedrockEmbedder(client, { dimensions: 256 });
    expect(await embedder.embed(["a"])).toEqual([fakeEmbedding("a", 256)]);
    expect(calls).toHaveLength(2);
  });

  it("fails permanently, without retrying, on a wrong dimension or a validation error", async () => {
    behaviour = (call, n) => ok({ ...call, body: { ...call.body, dimensions: 512 } }, n);
    const embedder = new BedrockEmbedder(client, { dimensions: 1024 });
    const wrongDim = await embedder.embed(["a"]).catch((e: unknown) => e);
    expect(wrongDim).toBeInstanceOf(PermanentError);
    expect(wrongDim).toMatchObject({ code: "embedding_dimension_mismatch", retryable: false });
    expect(calls).toHaveLength(1);

    calls = [];
    behaviour = () => ({
      status: 400,
      headers: { "x-amzn-ErrorType": "ValidationException" },
      body: { message: "Malformed input request" },
    });
    const invalid = await embedder.embed(["a"]).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(PermanentError);
    expect(calls).toHaveLength(1);
  });
});
