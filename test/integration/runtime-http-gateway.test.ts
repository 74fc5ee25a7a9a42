import { createHash } from "node:crypto";
import { request } from "node:http";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpGateway, type RouteDef, startHttpGateway } from "../../local/runtime/http-gateway";

/** Real HTTP against the local gateway; the handlers are tiny inline echoes. */

interface Seen {
  event: APIGatewayProxyEventV2;
  context: Context;
}
const seen: Seen[] = [];
const lastSeen = (): Seen => {
  const s = seen.at(-1);
  if (!s) throw new Error("handler was not called");
  return s;
};

const echo = async (event: APIGatewayProxyEventV2, context: Context) => {
  seen.push({ event, context });
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ok: true }),
  };
};

const routes: RouteDef[] = [
  {
    method: "GET",
    path: "/messages/search",
    handler: async () => ({ route: "search" }),
    functionName: "search",
  },
  { method: "GET", path: "/messages/{id}", handler: echo, functionName: "get-message", timeoutMs: 5_000 },
  { method: "DELETE", path: "/messages/{id}", handler: echo, functionName: "delete-message" },
  { method: "POST", path: "/messages", handler: echo, functionName: "post-message" },
  { method: "POST", path: "/slack/events", handler: middy(echo), functionName: "slack-events" },
  {
    method: "GET",
    path: "/boom",
    handler: async () => {
      throw new Error("kaput");
    },
    functionName: "boom",
  },
  {
    method: "GET",
    path: "/slow",
    handler: () => new Promise((r) => setTimeout(() => r({ statusCode: 200 }), 2_000)),
    functionName: "slow",
    timeoutMs: 200,
  },
  { method: "GET", path: "/string", handler: async () => "plain text", functionName: "string" },
  { method: "GET", path: "/object", handler: async () => ({ hello: "world" }), functionName: "object" },
  {
    method: "GET",
    path: "/png",
    handler: async () => ({
      statusCode: 201,
      headers: { "Content-Type": "image/png", "X-Answer": 42 },
      cookies: ["a=1; Path=/", "b=2; HttpOnly"],
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString("base64"),
      isBase64Encoded: true,
    }),
    functionName: "png",
  },
  { method: "GET", path: "/bad", handler: async () => ({ statusCode: "nope" }), functionName: "bad" },
];

let gw: HttpGateway;
let small: HttpGateway;

beforeAll(async () => {
  gw = await startHttpGateway({ port: 0, routes, quiet: true });
  small = await startHttpGateway({ port: 0, routes, quiet: true, maxBodyBytes: 1024 });
});

afterAll(async () => {
  await gw?.close();
  await small?.close();
});

/** node:http instead of fetch so repeated headers go out as separate lines. */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("http gateway", () => {
  it("listens on the real port when asked for port 0", () => {
    expect(gw.port).toBeGreaterThan(0);
    expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`);
  });

  it("builds a payload 2.0 event: path and repeated query params, lower-cased and joined headers, cookies", async () => {
    const before = Date.now();
    const res = await raw(gw.url, "GET", "/messages/m%201?tag=a&tag=b&q=hello%20world&empty=", {
      "X-Custom-Header": "Value",
      "X-Multi": ["one", "two"],
      Cookie: "session=abc; theme=dark",
      "User-Agent": "runtime-test/1.0",
    });
    expect(res.status).toBe(200);
    expect(res.headers["apigw-requestid"]).toBeTruthy();
    const { event, context } = lastSeen();
    expect(event.version).toBe("2.0");
    expect(event.routeKey).toBe("GET /messages/{id}");
    expect(event.rawPath).toBe("/messages/m%201");
    expect(event.rawQueryString).toBe("tag=a&tag=b&q=hello%20world&empty=");
    expect(event.queryStringParameters).toEqual({ tag: "a,b", q: "hello world", empty: "" });
    expect(event.pathParameters).toEqual({ id: "m 1" });
    expect(event.headers["x-custom-header"]).toBe("Value");
    expect(event.headers["X-Custom-Header"]).toBeUndefined();
    expect(event.headers["x-multi"]).toBe("one,two");
    expect(event.headers.host).toBe(`127.0.0.1:${gw.port}`);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(["session=abc", "theme=dark"]);
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    const rc = event.requestContext;
    expect(rc.routeKey).toBe("GET /messages/{id}");
    expect(rc.stage).toBe("$default");
    expect(rc.domainName).toBe("127.0.0.1");
    expect(rc.accountId).toMatch(/^\d{12}$/);
    expect(rc.apiId).toBeTruthy();
    expect(rc.requestId).toBe(res.headers["apigw-requestid"]);
    expect(rc.http).toEqual({
      method: "GET",
      path: "/messages/m%201",
      protocol: "HTTP/1.1",
      sourceIp: "127.0.0.1",
      userAgent: "runtime-test/1.0",
    });
    expect(rc.timeEpoch).toBeGreaterThanOrEqual(before - 1000);
    expect(rc.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    // The Lambda context a real invocation would get.
    expect(context.functionName).toBe("get-message");
    expect(context.awsRequestId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(context.invokedFunctionArn).toMatch(/^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:get-message$/);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(5_000);
  });

  it("omits optional fields API Gateway omits and prefers literal routes", async () => {
    const res = await fetch(`${gw.url}/messages/search`);
    expect(await res.json()).toEqual({ route: "search" });
    await raw(gw.url, "DELETE", "/messages/7");
    const { event } = lastSeen();
    expect(event.routeKey).toBe("DELETE /messages/{id}");
    expect(event.rawQueryString).toBe("");
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
  });

  it("passes a JSON body as text", async () => {
    const payload = { text: "hello", n: 1 };
    const res = await fetch(`${gw.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(200);
    const { event } = lastSeen();
    expect(event.routeKey).toBe("POST /messages");
    expect(event.isBase64Encoded).toBe(false);
    expect(JSON.parse(event.body ?? "")).toEqual(payload);
    expect(event.pathParameters).toBeUndefined();
  });

  it("preserves the raw body bytes exactly (Slack signs them)", async () => {
    const bodies = [
      '{ "type" :"event_callback",\t"text":  "héllo\u00a0 wörld 🎉  \\u00e9",\n  "n":1.50 }\r\n',
      "token=x&text=caf%C3%A9++bar+%F0%9F%8E%89&trigger_id=1.2%2F3&text=ü raw",
    ];
    const types = ["application/json", "application/x-www-form-urlencoded"];
    for (const [i, text] of bodies.entries()) {
      const bytes = Buffer.from(text, "utf8");
      await raw(gw.url, "POST", "/slack/events", { "content-type": types[i] ?? "" }, bytes);
      const { event } = lastSeen();
      expect(event.isBase64Encoded).toBe(false);
      expect(event.body).toBe(text);
      const digest = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
      expect(digest(event.body ?? "")).toBe(digest(bytes));
    }
  });

  it("base64-encodes a binary body", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await raw(gw.url, "POST", "/messages", { "content-type": "application/octet-stream" }, bytes);
    const { event } = lastSeen();
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? "", "base64").equals(bytes)).toBe(true);
  });

  it("answers 404 and 405 with JSON errors", async () => {
    const notFound = await fetch(`${gw.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("content-type")).toContain("application/json");
    const nf = (await notFound.json()) as { error: { code: string; message: string } };
    expect(nf.error.code).toBe("not_found");
    expect(nf.error.message).toContain("/nope");

    const wrong = await fetch(`${gw.url}/messages/1`, { method: "PUT", body: "x" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toContain("GET");
    const body = (await wrong.json()) as { error: { code: string } };
    expect(body.error.code).toBe("method_not_allowed");
  });

  it("maps a handler that throws to API Gateway's 500", async () => {
    const res = await fetch(`${gw.url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: "Internal Server Error" });
  });

  it("maps an invalid handler response to 500", async () => {
    const res = await fetch(`${gw.url}/bad`);
    expect(res.status).toBe(500);
  });

  it("enforces the function timeout", async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: "Service Unavailable" });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("applies the v2 defaults to a string or an object without statusCode", async () => {
    const s = await fetch(`${gw.url}/string`);
    expect(s.status).toBe(200);
    expect(s.headers.get("content-type")).toBe("application/json");
    expect(await s.text()).toBe("plain text");
    const o = await fetch(`${gw.url}/object`);
    expect(o.status).toBe(200);
    expect(await o.json()).toEqual({ hello: "world" });
  });

  it("decodes an isBase64Encoded response and sends headers and cookies", async () => {
    const res = await raw(gw.url, "GET", "/png");
    expect(res.status).toBe(201);
    expect(res.body.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]))).toBe(true);
    expect(res.headers["content-type"]).toBe("image/png");
    expect(res.headers["x-answer"]).toBe("42");
    expect(res.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
  });

  it("rejects a body over the limit with 413", async () => {
    const res = await raw(
      small.url,
      "POST",
      "/messages",
      { "content-type": "text/plain" },
      Buffer.alloc(4096, 97),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).error.code).toBe("payload_too_large");
    // Chunked uploads (no content-length) are cut off too.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${small.url}/messages`,
        { method: "POST", headers: { "content-type": "text/plain" } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(512, 98));
      req.end();
    });
    expect(chunked).toBe(413);
    const ok = await raw(
      small.url,
      "POST",
      "/messages",
      { "content-type": "text/plain" },
      Buffer.alloc(1024, 97),
    );
    expect(ok.status).toBe(200);
  });

  it("answers an oversize URL (414) or header block (431) with a JSON error body, as API Gateway's quota", async () => {
    // Issue 22: a ~16 KB URL got Node's bare 431 with an empty body.
    const long = await raw(gw.url, "GET", `/string?q=${"a".repeat(16_000)}`);
    expect(long.status).toBe(414);
    expect(long.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(long.body.toString()).error.code).toBe("uri_too_long");
    const headers = await raw(gw.url, "GET", "/string", { "x-big": "b".repeat(11_000) });
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body.toString()).error.code).toBe("request_header_fields_too_large");
    // Past Node's own parser limit the request never reaches a handler: still JSON.
    const huge = await raw(gw.url, "GET", `/string?q=${"a".repeat(70_000)}`);
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.body.toString()).error.code).toBe("request_header_fields_too_large");
    // Just under the quota still reaches the function.
    const fits = await raw(gw.url, "GET", `/string?q=${"a".repeat(9_000)}`);
    expect(fits.status).toBe(200);
  });
});
