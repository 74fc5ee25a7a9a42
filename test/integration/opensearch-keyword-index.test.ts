import { randomUUID } from "node:crypto";
import { type API, Client, errors } from "@opensearch-project/opensearch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  indexTemplateName,
  OpenSearchKeywordIndex,
} from "../../functions/adapters/opensearch/opensearch-keyword-index";
import { buildKeywordQuery } from "../../functions/adapters/opensearch/query-dsl";
import type { StoredMessage } from "../../functions/core/model";
import { parseQuery } from "../../functions/core/search/query-parser";
import { config } from "../../functions/shared/config";

const LINES = [
  "Heads up: the staging deploy runs after standup, please hold merges until it is green",
  "Who owns the OAuth2 token refresh? Users get logged out every hour on mobile",
  "Postgres failover drill is scheduled for Thursday 14:00 UTC, expect a 30s blip",
  "Can someone review my PR for the billing webhook retries? It is blocking the release",
  "The flaky checkout test was a timezone bug, fixed in main now",
  "Reminder: rotate the Slack signing secret before Friday",
];

function message(id: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    sourceId: 1,
    source: { type: "slack", name: "acme" },
    externalId: `C024BE91L-${1700000000 + id}.000100`,
    channel: id % 2 === 0 ? "#platform" : "#auth-team",
    author: id % 3 === 0 ? "charlie@acme.io" : "dana@acme.io",
    content: LINES[id % LINES.length]!,
    timestamp: new Date(Date.UTC(2025, 11, 14, 18, 58, 32) + id * 60_000),
    threadId: id % 4 === 0 ? `1700000000.${id}` : null,
    metadata: { reactions: [{ name: "eyes", count: 2 }], mentions: ["@oncall"], edited: false },
    embeddingId: null,
    version: 1,
    contentHash: `hash-${id}`,
    deletedAt: null,
    ...overrides,
  };
}

const client = new Client({ node: config().OPENSEARCH_URL });
const indexName = `test-keyword-${randomUUID().slice(0, 8)}`;
const index = new OpenSearchKeywordIndex(client, indexName);

async function getDoc(id: number): Promise<{ found: boolean; version?: number; content?: string }> {
  try {
    const res = await client.get({ index: indexName, id: String(id) });
    const src = res.body._source as { content: string };
    return { found: true, version: res.body._version, content: src.content };
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return { found: false };
    throw err;
  }
}

beforeAll(async () => {
  await index.ensureIndex();
});

afterAll(async () => {
  await index.deleteIndexAndTemplate();
  await client.close();
});

describe("OpenSearchKeywordIndex", () => {
  it("creates the strict mapping with an English word-part analyzer and an exact subfield", async () => {
    await index.ensureIndex(); // idempotent
    const res = await client.indices.getMapping({ index: indexName });
    const mapping = res.body[indexName]?.mappings as {
      dynamic?: string;
      properties: Record<string, { type?: string; analyzer?: string; enabled?: boolean; fields?: unknown }>;
    };
    expect(mapping.dynamic).toBe("strict");
    expect(mapping.properties["content"]).toMatchObject({
      type: "text",
      analyzer: "message_english",
      fields: { exact: { type: "text", analyzer: "standard" } },
    });
    expect(mapping.properties["metadata"]).toMatchObject({ type: "object", enabled: false });
    expect(mapping.properties["channel"]?.type).toBe("keyword");
    expect(mapping.properties["timestamp"]?.type).toBe("date");
    expect(mapping.properties["message_id"]?.type).toBe("long");

    const outcomes = await index.upsert([message(1000, { content: "The nightly backup job runs at 02:00" })]);
    expect(outcomes).toEqual([{ messageId: 1000, ok: true }]);
    await index.refresh();
    const stemmed = await index.searchBody({ query: { match: { content: "running" } } });
    expect(stemmed.map((h) => h.messageId)).toContain(1000);
    expect(stemmed[0]!.score).toBeGreaterThan(0);
    // The exact subfield does not stem, so "running" does not match "runs" there.
    const exact = await index.searchBody({ query: { match: { "content.exact": "running" } } });
    expect(exact.map((h) => h.messageId)).not.toContain(1000);
    await index.remove([{ messageId: 1000, version: 2 }]);
  });

  it("finds OAuth2 by OAuth (word parts) and stems English words", async () => {
    const analyze = async (text: string) => {
      const res = await client.indices.analyze({
        index: indexName,
        body: { analyzer: "message_english", text },
      });
      return (res.body.tokens ?? []).map((t) => t.token);
    };
    expect(await analyze("Starting OAuth2 implementation")).toEqual(
      expect.arrayContaining(["start", "oauth2", "oauth", "2", "implement"]),
    );
    // Case changes are not split: no "o" / "auth" fragments that would match unrelated text.
    expect(await analyze("OAuth")).toEqual(["oauth"]);
    expect(await analyze("the team's logins")).toEqual(["team", "login"]);
  });

  it("runs a body from the BM25 query builder against this mapping", async () => {
    await index.upsert([
      message(5001, {
        channel: "#auth-team",
        content: "Token refresh fails for mobile users after the update",
      }),
      message(5002, { channel: "#platform", content: "The token refresh cron moved to the new cluster" }),
      message(5003, { channel: "#auth-team", content: "Lunch order is in, thai food today" }),
    ]);
    await index.refresh();
    const ast = parseQuery("token refresh");
    const all = await index.searchBody(buildKeywordQuery(ast, {}, { size: 10 }));
    expect(all.map((h) => h.messageId).sort()).toEqual([5001, 5002]);
    expect(all.every((h) => h.score > 0)).toBe(true);
    const filtered = await index.searchBody(
      buildKeywordQuery(ast, { channels: ["#auth-team"] }, { size: 10 }),
    );
    expect(filtered.map((h) => h.messageId)).toEqual([5001]);
  });

  it("keeps the newer version when an older one arrives later (409 is ok)", async () => {
    const v2 = message(2001, { version: 2, content: "Rollback done, v2.3.1 is live again" });
    const v1 = message(2001, { version: 1, content: "Rolling back to v2.3.1 now" });
    expect(await index.upsert([v2])).toEqual([{ messageId: 2001, ok: true }]);
    expect(await index.upsert([v1])).toEqual([{ messageId: 2001, ok: true }]);
    const doc = await getDoc(2001);
    expect(doc).toEqual({ found: true, version: 2, content: v2.content });
    // Re-delivery of the same version is a no-op, also ok.
    expect(await index.upsert([v2])).toEqual([{ messageId: 2001, ok: true }]);
  });

  it("ignores a delete with a lower version and applies one with a higher version", async () => {
    await index.upsert([message(2002, { version: 5 })]);
    expect(await index.remove([{ messageId: 2002, version: 4 }])).toEqual([{ messageId: 2002, ok: true }]);
    expect((await getDoc(2002)).found).toBe(true);

    expect(await index.remove([{ messageId: 2002, version: 6 }])).toEqual([{ messageId: 2002, ok: true }]);
    expect((await getDoc(2002)).found).toBe(false);
    // Deleting a message that is not there is ok too.
    expect(await index.remove([{ messageId: 999_999, version: 1 }])).toEqual([
      { messageId: 999_999, ok: true },
    ]);
  });

  it("writes a soft-deleted row as a delete", async () => {
    await index.upsert([message(2003, { version: 1 })]);
    const outcomes = await index.upsert([message(2003, { version: 2, deletedAt: new Date() })]);
    expect(outcomes).toEqual([{ messageId: 2003, ok: true }]);
    expect((await getDoc(2003)).found).toBe(false);
  });

  it("reports exactly the item that the mapping rejects", async () => {
    const bad = message(3002, { timestamp: "not a date" as unknown as Date });
    const outcomes = await index.upsert([message(3001), bad, message(3003)]);
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toEqual({ messageId: 3001, ok: true });
    expect(outcomes[2]).toEqual({ messageId: 3003, ok: true });
    expect(outcomes[1]).toMatchObject({ messageId: 3002, ok: false, retryable: false });
    expect(outcomes[1]!.error).toMatch(/400 .*mapper_parsing_exception/);
    expect((await getDoc(3001)).found).toBe(true);
    expect((await getDoc(3002)).found).toBe(false);
  });
});

describe("OpenSearchKeywordIndex when its index disappears", () => {
  const handIndexName = `test-keyword-hand-${randomUUID().slice(0, 8)}`;
  const handIndex = new OpenSearchKeywordIndex(client, handIndexName);
  const templateExists = async (indexName = handIndexName) =>
    (await client.indices.existsIndexTemplate({ name: indexTemplateName(indexName) })).body;

  /** The index's mapping is the product's, not the dynamic one OpenSearch guesses for an unknown index. */
  async function expectProductMapping(): Promise<void> {
    const res = await client.indices.getMapping({ index: handIndexName });
    const mapping = res.body[handIndexName]?.mappings as {
      dynamic?: string;
      properties: Record<string, { type?: string; analyzer?: string; enabled?: boolean }>;
    };
    // Dynamic would be: dynamic unset, content text + keyword subfield with the standard analyzer.
    expect(mapping.dynamic).toBe("strict");
    expect(mapping.properties["content"]).toMatchObject({ type: "text", analyzer: "message_english" });
    expect(mapping.properties["channel"]?.type).toBe("keyword");
    expect(mapping.properties["metadata"]).toMatchObject({ type: "object", enabled: false });
  }

  afterAll(async () => {
    await handIndex.deleteIndexAndTemplate();
  });

  it("deleted by hand: the next bulk recreates it with the product mapping (from the template)", async () => {
    await handIndex.upsert([message(5001)]);
    expect(await templateExists()).toBe(true);
    // Behind the adapter's back: it still remembers the index as created and will not create it again.
    await client.indices.delete({ index: handIndexName });

    const outcomes = await handIndex.upsert([
      message(5002, { content: "Starting the OAuth2 implementation for the partner API" }),
    ]);
    expect(outcomes).toEqual([{ messageId: 5002, ok: true }]);
    await expectProductMapping();
    await handIndex.refresh();
    // Word parts work again: OAuth finds OAuth2, and the BM25 leg's sort on message_id works.
    const hits = await handIndex.search(parseQuery("OAuth"), {}, 10);
    expect(hits.map((h) => h.messageId)).toEqual([5002]);
  });

  it("deleteIndex() keeps the template: a worker's write before ensureIndex() gets the product mapping too", async () => {
    const worker = new OpenSearchKeywordIndex(client, handIndexName);
    await worker.upsert([message(5003)]); // the worker's "index ensured" is cached from here on
    await handIndex.deleteIndex();
    expect(await templateExists()).toBe(true);
    expect(await worker.upsert([message(5004)])).toEqual([{ messageId: 5004, ok: true }]);
    await handIndex.ensureIndex();
    await expectProductMapping();

    await handIndex.deleteIndexAndTemplate();
    expect((await client.indices.exists({ index: handIndexName })).body).toBe(false);
    expect(await templateExists()).toBe(false);
  });

  it("rebuildIndex() puts the template back before deleting, so a write in the gap gets the product mapping even after the template was deleted by hand", async () => {
    const name = `test-keyword-rebuild-${randomUUID().slice(0, 8)}`;
    const worker = new OpenSearchKeywordIndex(client, name);
    await worker.upsert([message(6001)]); // the worker's "index ensured" is cached from here on
    await client.indices.deleteIndexTemplate({ name: indexTemplateName(name) });
    // The reconciler's client: right after its index delete, the worker writes (the race).
    const indices = new Proxy(client.indices, {
      get(target, prop) {
        if (prop === "delete")
          return async (params: Parameters<typeof target.delete>[0]) => {
            const res = await target.delete(params);
            expect(await worker.upsert([message(6002)])).toEqual([{ messageId: 6002, ok: true }]);
            return res;
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const racing = new Proxy(client, {
      get(target, prop) {
        if (prop === "indices") return indices;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const reconciler = new OpenSearchKeywordIndex(racing, name);
    try {
      await reconciler.rebuildIndex();
      expect(await reconciler.mappingState()).toBe("product");
      await reconciler.refresh();
      expect(await reconciler.count()).toBe(1); // 6002, written in the gap
    } finally {
      await worker.deleteIndexAndTemplate();
    }
  });

  it("a template it cannot put (another one of the same priority matches) is reported, and the index is still created", async () => {
    const name = `test-keyword-clash-${randomUUID().slice(0, 8)}`;
    const clash = `${name}-other`;
    await client.indices.putIndexTemplate({
      name: clash,
      body: {
        index_patterns: [`${name}*`],
        priority: 500,
        template: { settings: { number_of_replicas: 0 } },
      },
    });
    const warnings: string[] = [];
    const index = new OpenSearchKeywordIndex(client, name, { warn: (message) => warnings.push(message) });
    try {
      await index.ensureIndex();
      expect((await client.indices.exists({ index: name })).body).toBe(true);
      expect(await templateExists(name)).toBe(false);
      expect(warnings).toEqual([expect.stringContaining(`index template ${indexTemplateName(name)}`)]);
      expect(await index.upsert([message(5005)])).toEqual([{ messageId: 5005, ok: true }]);
    } finally {
      await index.deleteIndexAndTemplate();
      await client.indices.deleteIndexTemplate({ name: clash });
    }
  });
});

describe("OpenSearchKeywordIndex bulk volume and paging", () => {
  const bulkIndexName = `test-keyword-bulk-${randomUUID().slice(0, 8)}`;
  const bulkIndex = new OpenSearchKeywordIndex(client, bulkIndexName);

  afterAll(async () => {
    await bulkIndex.deleteIndexAndTemplate();
  });

  it("indexes 500 documents in one call and lists their versions page by page in id order", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => message(i + 1, { version: (i % 7) + 1 }));
    const outcomes = await bulkIndex.upsert(rows);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(await bulkIndex.count(true)).toBe(500);

    const seen: { messageId: number; version: number }[] = [];
    let after = 0;
    for (;;) {
      const page = await bulkIndex.listVersions(after, 37);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(37);
      seen.push(...page);
      after = page[page.length - 1]!.messageId;
    }
    expect(seen.map((v) => v.messageId)).toEqual(rows.map((r) => r.id));
    expect(seen.map((v) => v.version)).toEqual(rows.map((r) => r.version));
  });
});

describe("OpenSearchKeywordIndex throttling", () => {
  const throttleIndexName = `test-keyword-429-${randomUUID().slice(0, 8)}`;

  type BulkParams = { body: Record<string, unknown>[] };
  type BulkResult = API.Bulk_Response;

  /** The real client, except that `bulk` goes through `fake` (to inject the 429s OpenSearch gives under load). */
  function withBulk(
    fake: (params: BulkParams, real: (p: BulkParams) => Promise<BulkResult>) => Promise<BulkResult>,
  ) {
    const real = (p: BulkParams) => client.bulk(p);
    return new Proxy(client, {
      get(target, prop) {
        if (prop === "bulk") return (p: BulkParams) => fake(p, real);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  function idsOf(body: Record<string, unknown>[]): string[] {
    return body.flatMap((line) => {
      const meta = (line["index"] ?? line["delete"]) as { _id: string } | undefined;
      return meta ? [meta._id] : [];
    });
  }

  afterAll(async () => {
    await new OpenSearchKeywordIndex(client, throttleIndexName).deleteIndexAndTemplate();
  });

  it("retries only the items rejected with 429, and a whole-request 429", async () => {
    const calls: string[][] = [];
    const throttled = new Set(["4002", "4004"]);
    const proxied = withBulk(async (params, real) => {
      calls.push(idsOf(params.body));
      if (calls.length === 1) {
        throw new errors.ResponseError({
          body: { error: { type: "es_rejected_execution_exception" }, status: 429 },
          statusCode: 429,
          headers: {},
          warnings: null,
          meta: {} as never,
        });
      }
      if (calls.length > 2) return real(params);
      // Second call: forward the items that "got through", answer 429 for the others.
      const kept: Record<string, unknown>[] = [];
      for (let i = 0; i < params.body.length; i += 2) {
        const meta = params.body[i]!["index"] as { _id: string };
        if (!throttled.has(meta._id)) kept.push(params.body[i]!, params.body[i + 1]!);
      }
      const res = await real({ body: kept });
      const realItems = [...res.body.items];
      const items = idsOf(params.body).map((id) =>
        throttled.has(id)
          ? {
              index: {
                _index: throttleIndexName,
                _id: id,
                status: 429,
                error: { type: "es_rejected_execution_exception", reason: "queue full" },
              },
            }
          : realItems.shift()!,
      );
      return { ...res, body: { ...res.body, errors: true, items } } as BulkResult;
    });
    const idx = new OpenSearchKeywordIndex(proxied, throttleIndexName, { backoffMs: 5 });
    const rows = [4001, 4002, 4003, 4004, 4005].map((id) => message(id));
    const outcomes = await idx.upsert(rows);

    expect(outcomes).toEqual(rows.map((r) => ({ messageId: r.id, ok: true })));
    expect(calls).toEqual([
      ["4001", "4002", "4003", "4004", "4005"],
      ["4001", "4002", "4003", "4004", "4005"],
      ["4002", "4004"],
    ]);
    expect(await idx.count(true)).toBe(5);
  });

  it("gives up after the attempt budget with a retryable failure", async () => {
    let calls = 0;
    // Every item stays throttled: the fake never forwards to OpenSearch.
    const proxied = withBulk(async (params) => {
      calls++;
      const items = idsOf(params.body).map((id) => ({
        index: {
          _index: throttleIndexName,
          _id: id,
          status: 429,
          error: { type: "es_rejected_execution_exception" },
        },
      }));
      return {
        body: { took: 1, errors: true, items },
        statusCode: 200,
        headers: {},
        warnings: null,
        meta: {},
      } as unknown as BulkResult;
    });
    const idx = new OpenSearchKeywordIndex(proxied, throttleIndexName, { backoffMs: 1, maxAttempts: 3 });
    const outcomes = await idx.upsert([message(4100)]);
    expect(calls).toBe(3);
    expect(outcomes).toEqual([
      { messageId: 4100, ok: false, retryable: true, error: expect.stringContaining("429") },
    ]);
  });
});
