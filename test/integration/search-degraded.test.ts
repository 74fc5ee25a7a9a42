import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenSearchKeywordIndex } from "../../functions/adapters/opensearch/opensearch-keyword-index";
import { AppError } from "../../functions/core/errors";
import { searchMessages } from "../../functions/core/search/search-messages";
import { parseSearchRequest } from "../../functions/core/search/search-request";
import { openSearchClient } from "../../functions/shared/clients";
import { type Container, createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

// Nothing listens on port 9 (discard) here: connections are refused at once.
const DEAD_URL = "http://127.0.0.1:9";

/** An app with one store unreachable (`env`), the demo set ingested, and the live leg's index complete. */
async function startWithDemoSet(
  label: string,
  env: Record<string, string>,
  liveLegCount: (c: Container) => Promise<number>,
): Promise<TestApp> {
  const t = await startTestApp(label, { env });
  expect((await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES })).status).toBe(
    202,
  );
  const c = createContainer(t.config);
  await waitUntil(`${label}: live leg indexed`, async () => (await liveLegCount(c)) === DEMO_MESSAGES.length);
  return t;
}

describe("search when a store is down (real OpenSearch, Chroma unreachable)", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startWithDemoSet("degraded", { CHROMA_URL: DEAD_URL }, (c) => c.keywordIndex().count(true));
  });
  afterAll(async () => t?.close());

  it("hybrid answers 200 with the BM25 leg and says it is degraded", async () => {
    const res = await t.api("GET", "/search?q=OAuth");
    expect(res.status).toBe(200);
    const body = res.body as {
      degraded: string[];
      results: { content: string; ranks: { semantic: null } }[];
    };
    expect(body.degraded).toEqual(["semantic"]);
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) {
      expect(r.content).toMatch(/oauth/i);
      expect(r.ranks.semantic).toBeNull();
    }
  });

  it("a semantic-only search is a 503 JSON error", async () => {
    const res = await t.api("GET", "/search?q=OAuth&strategy=semantic");
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: "unavailable" } });
  });

  it("a keyword index that does not exist yet is an empty BM25 leg, and search does not create it", async () => {
    const c = createContainer({
      ...t.config,
      OPENSEARCH_INDEX: `${t.config.OPENSEARCH_INDEX}-never-written`,
    });
    const keyword = c.keywordIndex();
    const res = await searchMessages(
      { keyword, semantic: () => Promise.reject(new Error("not used")), messages: c.store },
      parseSearchRequest({ q: "OAuth", strategy: "bm25" }, c.cursorKey),
      { rrfK: 60, cursorKey: c.cursorKey },
    );
    expect(res.hits).toEqual([]);
    expect(res.degraded).toEqual([]);
    expect(await keyword.exists()).toBe(false);
  });

  it("both legs down is a 503 (RetryableError) from the use case", async () => {
    // Clients are kept per endpoint, so this container really talks to the dead URLs.
    const dead = createContainer({ ...t.config, OPENSEARCH_URL: DEAD_URL, CHROMA_URL: DEAD_URL });
    const error = await searchMessages(
      {
        keyword: new OpenSearchKeywordIndex(openSearchClient(dead.config), "messages"),
        semantic: async () => ({ vector: dead.vectorIndex(), embedder: dead.embedder }),
        messages: dead.store,
      },
      parseSearchRequest({ q: "OAuth" }, dead.cursorKey),
      { rrfK: 60, cursorKey: dead.cursorKey },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(503);
    expect((error as AppError).message).toMatch(/bm25 and semantic failed/);
  });
});

describe("search when OpenSearch is down from the start (cold container, Chroma up)", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startWithDemoSet("degraded-os", { OPENSEARCH_URL: DEAD_URL }, (c) => c.vectorIndex().count());
  });
  afterAll(async () => t?.close());

  it("hybrid answers 200 from the semantic leg, marked degraded (the keyword index is never needed up front)", async () => {
    const res = await t.api("GET", "/search?q=users+can%27t+login");
    expect(res.status).toBe(200);
    const body = res.body as { degraded: string[]; results: { ranks: { bm25: null } }[] };
    expect(body.degraded).toEqual(["bm25"]);
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) expect(r.ranks.bm25).toBeNull();
  });
});
