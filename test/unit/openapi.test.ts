import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../functions/shared/openapi";
import { ROUTES, routeKey } from "../../functions/topology";
import { ContractViolation, OpenApiContract, validateOpenApiDocument } from "../helpers/openapi-contract";

const doc = () => openApiDocument() as unknown as ConstructorParameters<typeof OpenApiContract>[0];
const json = "application/json";

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1 for a real validator", async () => {
    const verdict = await validateOpenApiDocument(openApiDocument());
    expect(verdict.errors).toBeUndefined();
    expect(verdict.valid).toBe(true);
    expect(openApiDocument().openapi).toBe("3.1.0");
  });

  it("documents exactly the routes of the topology (lib/ and the local runtime serve those)", () => {
    const documented = Object.entries(openApiDocument().paths ?? {}).flatMap(([path, ops]) =>
      Object.keys(ops ?? {}).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it("a broken document is reported invalid (the validator can fail)", async () => {
    const broken = { ...openApiDocument(), paths: { "/x": { get: { responses: { "200": {} } } } } };
    expect((await validateOpenApiDocument(broken)).valid).toBe(false);
  });

  it("renders the request schemas that validate input: q is required, limit bounded, filters string or list", () => {
    const params = openApiDocument().paths?.["/search"]?.get?.parameters as unknown as {
      name: string;
      required?: boolean;
      schema: Record<string, unknown>;
    }[];
    const byName = Object.fromEntries(params.map((p) => [p.name, p]));
    expect(byName.q?.required).toBe(true);
    expect(byName.limit?.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 20 });
    expect(byName.fusion?.schema).toMatchObject({ enum: ["rrf", "convex"] });
    expect(byName.channel?.schema.anyOf).toEqual([
      { type: "string" },
      { type: "array", items: { type: "string" } },
    ]);
    expect(Object.keys(byName).sort()).toEqual(
      [
        "author",
        "bm25_weight",
        "channel",
        "cursor",
        "explain",
        "from",
        "fusion",
        "limit",
        "q",
        "semantic_weight",
        "source",
        "strategy",
        "to",
        "viewer",
        "group",
        "sort",
        "context",
      ].sort(),
    );
  });
});

describe("contract checks", () => {
  const contract = new OpenApiContract(doc());
  const result = {
    message_id: 1,
    external_id: "e1",
    content: "hello",
    highlights: ["<mark>hello</mark>"],
    author: "a",
    author_name: "Alice",
    channel: "#c",
    channel_name: "#c",
    timestamp: "2025-12-01T10:00:00.000Z",
    thread_id: null,
    source: "acme",
    source_type: "slack",
    score: 0.03,
    ranks: { bm25: 1, semantic: null },
  };
  const page = { strategy: "hybrid", took_ms: 3, results: [result], next_cursor: null };

  it("accepts a response that matches", () => {
    expect(() =>
      contract.check("GET", "/search?q=x", { status: 200, contentType: json, body: page }),
    ).not.toThrow();
    expect(() =>
      contract.check("DELETE", "/messages/12", {
        status: 202,
        contentType: json,
        body: { message_id: 12, status: "deleted", version: 2 },
      }),
    ).not.toThrow();
  });

  it("rejects an undocumented route, status, field or type", () => {
    const bad = (method: string, path: string, status: number, body: unknown) => () =>
      contract.check(method, path, { status, contentType: json, body });
    expect(bad("GET", "/nowhere", 200, {})).toThrow(/no operation/);
    expect(bad("PUT", "/search", 200, page)).toThrow(/no operation/);
    expect(bad("GET", "/search", 418, page)).toThrow(/status not documented/);
    expect(bad("GET", "/search", 200, { ...page, extra: 1 })).toThrow(ContractViolation);
    expect(bad("GET", "/search", 200, { ...page, results: [{ ...result, score: "high" }] })).toThrow(/score/);
    expect(bad("GET", "/search", 400, { error: { message: "no code" } })).toThrow(/code/);
    expect(() =>
      contract.check("GET", "/search", { status: 200, contentType: "text/html", body: "<p>" }),
    ).toThrow(/content type/);
  });

  it("error bodies follow the README's shape on every route", () => {
    const error = {
      error: { code: "validation_error", message: "bad", details: [{ path: "q", message: "x" }] },
    };
    for (const [method, path] of [
      ["POST", "/messages"],
      ["GET", "/search"],
      ["POST", "/slack/events"],
    ] as const) {
      expect(() =>
        contract.check(method, path, { status: 404, contentType: json, body: error }),
      ).not.toThrow();
    }
  });
});

describe("docs/ (npm run docs)", () => {
  it("holds the reference rendered from the current document", async () => {
    const { readFileSync } = await import("node:fs");
    const { renderDocs } = await import("../../scripts/docs");
    for (const [file, text] of Object.entries(renderDocs())) {
      expect(readFileSync(file, "utf8"), `${file} is stale: run npm run docs`).toBe(text);
    }
  });
});
