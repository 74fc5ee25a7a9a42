import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestFingerprint } from "../../functions/core/search/cursor";
import { handler as gapsHandler } from "../../functions/handlers/gaps";
import { handler as ingestHandler } from "../../functions/handlers/ingest";
import { handler as searchHandler } from "../../functions/handlers/search";
import { closeClients } from "../../functions/shared/clients";
import { loadConfig } from "../../functions/shared/config";
import { createContainer, setContainer } from "../../functions/shared/container";
import { logger } from "../../functions/shared/logger";

/**
 * The ingest and search handlers with every dependency on a closed port: what reaches the
 * client is decided by validation and the error mapping alone (issue 22).
 */

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function event(
  method: string,
  path: string,
  opts: {
    body?: string;
    contentType?: string;
    id?: string;
    query?: string;
    /** Claims as API Gateway's JWT authorizer passes them. */
    claims?: Record<string, unknown>;
  } = {},
): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: opts.query ?? "",
    headers: opts.contentType ? { "content-type": opts.contentType } : {},
    ...(opts.id !== undefined ? { pathParameters: { id: opts.id } } : {}),
    requestContext: {
      http: { method, path },
      ...(opts.claims ? { authorizer: { jwt: { claims: opts.claims, scopes: [] } } } : {}),
    } as APIGatewayProxyEventV2["requestContext"],
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    isBase64Encoded: false,
  };
}

type Handler = (e: APIGatewayProxyEventV2, c: Context) => Promise<unknown>;
async function call(h: Handler, e: APIGatewayProxyEventV2) {
  const res = (await h(e, {} as Context)) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode, headers: res.headers ?? {}, body: JSON.parse(String(res.body)) };
}

const message = {
  external_id: "m1",
  channel: "#c",
  author: "a",
  content: "hello",
  timestamp: "2025-12-01T10:00:00Z",
};
const body = JSON.stringify({ source: { type: "app", name: "n" }, messages: [message] });

const level = logger.getLevelName();
beforeAll(async () => {
  // The 503s below log their cause at ERROR: expected here.
  logger.setLogLevel("SILENT");
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const port = await closedPort();
  setContainer(
    createContainer(
      loadConfig({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing`,
        OPENSEARCH_URL: dead,
        CHROMA_URL: dead,
        SQS_ENDPOINT: dead,
        CURSOR_SECRET: "unit-test-cursor-secret-0123456789abcdef",
      }),
    ),
  );
});
afterAll(async () => {
  setContainer(undefined);
  await closeClients();
  logger.setLogLevel(level);
});

describe("issue 22: the HTTP answer to a dependency outage and to client mistakes", () => {
  it("PostgreSQL down: POST /messages and DELETE are 503 unavailable with Retry-After, not 500", async () => {
    const post = await call(
      ingestHandler,
      event("POST", "/messages", { body, contentType: "application/json" }),
    );
    expect(post.status).toBe(503);
    expect(post.body.error.code).toBe("unavailable");
    expect(post.headers["retry-after"]).toBe("1");
    const del = await call(ingestHandler, event("DELETE", "/messages/7", { id: "7" }));
    expect(del.status).toBe(503);
  });

  it("every store down: search is 503 with Retry-After", async () => {
    const res = await call(
      searchHandler,
      event("GET", "/search", { query: "q=oauth&strategy=bm25&viewer=U1" }),
    );
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("1");
  });

  it("a POST body that is not declared JSON is 415 (no cross-origin simple POST)", async () => {
    for (const contentType of [
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]) {
      for (const [h, path] of [
        [ingestHandler, "/messages"],
        [searchHandler, "/search"],
      ] as const) {
        const res = await call(h, event("POST", path, { body, ...(contentType ? { contentType } : {}) }));
        expect(res.status, `${path} ${contentType}`).toBe(415);
        expect(res.body.error.code).toBe("unsupported_media_type");
      }
    }
    // Parameters and +json types are JSON.
    const withCharset = await call(
      ingestHandler,
      event("POST", "/messages", { body: "{", contentType: "application/json; charset=utf-8" }),
    );
    expect(withCharset.status).toBe(400);
  });

  it("DELETE /messages/{id} takes plain digits only: 1e3 is not 1000", async () => {
    for (const id of ["1e3", "0x10", " 7", "7.0", "+7", "0", "-1", "99999999999999999"]) {
      const res = await call(ingestHandler, event("DELETE", `/messages/${id}`, { id }));
      expect(res.status, id).toBe(400);
      expect(res.body.error.details[0].path).toBe("id");
    }
  });

  it("a forged search cursor is 400 on cursor, before any store is asked (never 503)", async () => {
    // The cursor of issue 22: bound to the right query, with a window of 100,000.
    const h = requestFingerprint({ q: "oauth", strategy: "bm25", filters: {}, limit: 20 });
    for (const v of [2, 3]) {
      const forged = Buffer.from(JSON.stringify({ v, o: 0, w: 100000, h })).toString("base64url");
      for (const cursor of [forged, `${forged}.AAAAAAAAAAAAAAAAAAAAAA`]) {
        const res = await call(
          searchHandler,
          event("GET", "/search", { query: `q=oauth&strategy=bm25&viewer=U1&cursor=${cursor}` }),
        );
        expect(res.status, cursor).toBe(400);
        expect(res.body.error.details[0].path).toBe("cursor");
      }
    }
  });

  it("issue 16: a search or gaps read without a viewer is 401; a JWT names its viewer, viewer= may only repeat it", async () => {
    for (const [h, path] of [
      [searchHandler, "/search"],
      [gapsHandler, "/gaps"],
    ] as const) {
      const none = await call(h, event("GET", path, { query: "q=oauth" }));
      expect(none.status, path).toBe(401);
      expect(none.body.error.code).toBe("unauthorized");
      expect(none.body.error.details[0].path).toBe("viewer");
      const otherViewer = await call(
        h,
        event("GET", path, { query: "q=oauth&viewer=U2", claims: { sub: "U1" } }),
      );
      expect(otherViewer.status, path).toBe(403);
      const noClaim = await call(h, event("GET", path, { query: "q=oauth", claims: { email: "a@b" } }));
      expect(noClaim.status, path).toBe(403);
      // The claim is the viewer: the read goes on to the stores (down here: 503).
      const claimed = await call(h, event("GET", path, { query: "q=oauth", claims: { sub: "U1" } }));
      expect(claimed.status, path).toBe(503);
    }
  });

  it("strings PostgreSQL would reject are 400 naming the field, before any store is asked", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ content: "a\u0000b" }, "messages.0.content"],
      [{ external_id: "x\u0000" }, "messages.0.external_id"],
      [{ channel: "#\ud800" }, "messages.0.channel"],
      [{ author: "\udc00a" }, "messages.0.author"],
      [{ thread_id: "t\u0000" }, "messages.0.thread_id"],
      [{ metadata: { k: "v\u0000" } }, "messages.0.metadata.k"],
      [{ metadata: { "k\u0000": 1 } }, "messages.0.metadata.k\u0000"],
      [{ metadata: { list: ["ok", "\ud83d"] } }, "messages.0.metadata.list.1"],
      [{ timestamp: "0000-01-01T00:00:00Z" }, "messages.0.timestamp"],
      [{ timestamp: "2101-01-01T00:00:00Z" }, "messages.0.timestamp"],
      [{ timestamp: "1969-12-31T23:59:59Z" }, "messages.0.timestamp"],
    ];
    for (const [patch, path] of cases) {
      const b = JSON.stringify({ source: { type: "app", name: "n" }, messages: [{ ...message, ...patch }] });
      const res = await call(
        ingestHandler,
        event("POST", "/messages", { body: b, contentType: "application/json" }),
      );
      expect(res.status, path).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    for (const query of [
      "q=a%00b",
      "q=x&channel=%23a%00",
      `q=x&author=${encodeURIComponent('["\\u0000"]')}`,
    ]) {
      const res = await call(searchHandler, event("GET", "/search", { query }));
      expect(res.status, query).toBe(400);
    }
    // A lone surrogate can only arrive in JSON (a query string decodes bad UTF-8 to U+FFFD).
    for (const b of ['{"q":"a\\ud800"}', '{"q":"x","source":["\\udc00"]}']) {
      const res = await call(
        searchHandler,
        event("POST", "/search", { body: b, contentType: "application/json" }),
      );
      expect(res.status, b).toBe(400);
    }
  });
});
