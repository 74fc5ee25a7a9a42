import * as z from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from "zod-openapi";
import { gapsRequestSchema } from "../core/gaps/gaps-request";
import { ingestRequestSchema, messageIdParamsSchema } from "../core/ingest-request";
import { searchRequestSchema } from "../core/search/search-request";
import { slashAckSchema, slashCommandSchema } from "../core/slack/slash-command";
import {
  deleteResponseSchema,
  errorResponseSchema,
  gapsResponseSchema,
  ingestResponseSchema,
  searchResponseSchema,
  slackEventsResponseSchema,
} from "./api-schemas";

/**
 * The OpenAPI 3.1 contract of every route, rendered from the zod schemas that validate requests
 * (core) and type responses (api-schemas.ts): nothing here is a second copy of a shape. Served at
 * GET /openapi.json; `npm run docs` renders docs/api.md from it; the integration tests validate
 * every response they receive against it (test/helpers/openapi-contract.ts).
 */

const OPENAPI_VERSION = "3.1.0";

const jsonContent = (schema: z.ZodType) => ({ content: { "application/json": { schema } } });

const ERROR_DESCRIPTIONS: Record<string, string> = {
  "400": "Bad input: `details` names each bad field",
  "401": "The Slack signature or timestamp is missing or wrong",
  "404": "Unknown id or route",
  "405": "The route does not take this method",
  "413": "The body is larger than the gateway takes (10 MB)",
  "414": "The request line is longer than the gateway takes (10,240 bytes)",
  "415": "A JSON body was expected (`content-type: application/json`)",
  "431": "The request line and headers are larger than the gateway takes (10,240 bytes)",
  "500": "Server-side fault (details stay in the log)",
  "503": "A dependency is down; retry later",
};

/** The gateway's own answers, which any route may give. */
const GATEWAY_STATUSES = ["404", "405", "413", "414", "431", "500"];

/** Error responses for the given statuses and the gateway's, all with the one error body. */
function errors(...statuses: string[]): ZodOpenApiResponsesObject {
  const all = [...new Set([...statuses, ...GATEWAY_STATUSES])].sort();
  return Object.fromEntries(
    all.map((s) => [
      s,
      { description: ERROR_DESCRIPTIONS[s] ?? "Error", ...jsonContent(errorResponseSchema) },
    ]),
  );
}

const slackSignatureHeaders = z.object({
  "x-slack-request-timestamp": z
    .string()
    .meta({ description: "Seconds since the epoch, within 300 s of now" }),
  "x-slack-signature": z
    .string()
    .meta({ description: "`v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`)" }),
});

/** A read runs as a viewer (README "Permissions"): these are the refusals. */
const viewerErrors: ZodOpenApiResponsesObject = {
  "401": {
    description:
      "No viewer: no JWT claim and no `viewer` parameter, while unscoped reads are off (`unauthorized`)",
    ...jsonContent(errorResponseSchema),
  },
  "403": {
    description:
      "`forbidden`: the token has no viewer claim, `viewer` differs from the token's, or the cursor was issued to another viewer",
    ...jsonContent(errorResponseSchema),
  },
};

const searchResponses: ZodOpenApiResponsesObject = {
  "200": { description: "A page of results, best first", ...jsonContent(searchResponseSchema) },
  ...errors("400", "503"),
  ...viewerErrors,
};

/** Operations by path and method: the routes of lib/api.ts and local/app.ts. */
const OPERATIONS: Record<string, Record<string, ZodOpenApiOperationObject>> = {
  "/messages": {
    post: {
      operationId: "ingestMessages",
      tags: ["messages"],
      summary: "Upsert a batch of messages (1 to 500); all or nothing",
      requestBody: { required: true, ...jsonContent(ingestRequestSchema) },
      responses: {
        "202": {
          description: "Stored; indexing follows asynchronously",
          ...jsonContent(ingestResponseSchema),
        },
        ...errors("400", "415", "503"),
      },
    },
  },
  "/messages/{id}": {
    delete: {
      operationId: "deleteMessage",
      tags: ["messages"],
      summary: "Soft-delete a message and remove it from both indexes",
      requestParams: { path: messageIdParamsSchema },
      responses: {
        "202": { description: "Deleted (or already deleted)", ...jsonContent(deleteResponseSchema) },
        ...errors("400", "503"),
      },
    },
  },
  "/search": {
    get: {
      operationId: "searchGet",
      tags: ["search"],
      summary: "Search (parameters in the query string)",
      requestParams: { query: searchRequestSchema },
      responses: searchResponses,
    },
    post: {
      operationId: "searchPost",
      tags: ["search"],
      summary: "Search (parameters in a JSON body)",
      requestBody: { required: true, ...jsonContent(searchRequestSchema) },
      responses: { ...searchResponses, ...errors("400", "415", "503"), ...viewerErrors },
    },
  },
  "/gaps": {
    get: {
      operationId: "coordinationGaps",
      tags: ["search"],
      summary: "Coordination gaps: one topic discussed apart in separate conversations",
      requestParams: { query: gapsRequestSchema },
      responses: {
        "200": {
          description: "The latest computation's gaps in the window",
          ...jsonContent(gapsResponseSchema),
        },
        ...errors("400", "503"),
        ...viewerErrors,
      },
    },
  },
  "/slack/events": {
    post: {
      operationId: "slackEvents",
      tags: ["slack"],
      summary: "Slack Events API: url_verification and event_callback (signed by Slack)",
      requestParams: { header: slackSignatureHeaders },
      requestBody: {
        required: true,
        content: { "application/json": { schema: z.looseObject({ type: z.string() }) } },
      },
      responses: {
        "200": {
          description: "The challenge, or the event was queued",
          ...jsonContent(slackEventsResponseSchema),
        },
        ...errors("400", "401", "503"),
      },
    },
  },
  "/slack/commands": {
    post: {
      operationId: "slackCommand",
      tags: ["slack"],
      summary: "The /trisearch slash command (signed by Slack): ack now, results to response_url",
      description:
        "Answers at once with an ephemeral acknowledgement; the search runs in another function and " +
        "its results are posted to `response_url` as an ephemeral Block Kit message.",
      requestParams: { header: slackSignatureHeaders },
      requestBody: {
        required: true,
        content: { "application/x-www-form-urlencoded": { schema: slashCommandSchema } },
      },
      responses: {
        "200": { description: "Acknowledged (or help for an empty query)", ...jsonContent(slashAckSchema) },
        ...errors("400", "401", "503"),
      },
    },
  },
  "/": {
    get: {
      operationId: "searchPage",
      tags: ["meta"],
      summary: "The search page (HTML; its script calls GET /search)",
      description:
        "Query box with Slack's modifiers, strategy toggle, filters, highlighted results, leg ranks " +
        'and paging. Opened with `?q=...` (the slash command\'s "More results") it runs that search.',
      responses: {
        "200": { description: "The page", content: { "text/html": { schema: z.string() } } },
        ...errors(),
      },
    },
  },
  "/openapi.json": {
    get: {
      operationId: "openApi",
      tags: ["meta"],
      summary: "This document",
      responses: {
        "200": {
          description: "The OpenAPI 3.1 document",
          ...jsonContent(z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) })),
        },
        ...errors(),
      },
    },
  },
};

let cached: ReturnType<typeof createDocument> | undefined;

/** The document; built once per container (it is a pure function of the schemas). */
export function openApiDocument(): ReturnType<typeof createDocument> {
  cached ??= createDocument({
    openapi: OPENAPI_VERSION,
    info: {
      title: "Trisearch API",
      version: "1",
      description:
        "Hybrid search (BM25 + semantic, fused) over team messages. Errors share one body: " +
        '`{"error": {"code", "message", "details"?: [{"path", "message"}]}}`.',
    },
    tags: [
      { name: "messages", description: "Write path: PostgreSQL + outbox, indexed asynchronously" },
      { name: "search", description: "BM25, semantic and hybrid search" },
      { name: "slack", description: "Slack's Events API and the /trisearch slash command" },
      { name: "meta", description: "The contract and the search page" },
    ],
    paths: OPERATIONS,
  });
  return cached;
}
