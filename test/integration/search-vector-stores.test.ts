import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { createContainer } from "../../functions/shared/container";
import { logger } from "../../functions/shared/logger";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

interface Hit {
  message_id: number;
  content: string;
  channel: string;
  score: number;
  ranks: { bm25: number | null; semantic: number | null };
}
interface SearchBody {
  results: Hit[];
  degraded?: string[];
}

/**
 * The whole search path (API -> ingest -> outbox -> embedder worker -> vector store -> hybrid
 * search) with each VECTOR_STORE, on the demo set: the same queries answer with the same results.
 * README's quick-start examples are among them.
 */
const QUERIES: Record<string, string>[] = [
  { q: "users can't login" },
  { q: "OAuth", strategy: "bm25", channel: "#auth-team" },
  { q: '"authorization code flow"' },
  { q: "deploy rollback", strategy: "semantic" },
  { q: "users can't login in:#auth-team", strategy: "semantic" },
  { q: "token refresh has:reaction", strategy: "semantic" },
  { q: "release is:thread", strategy: "semantic" },
  { q: "login problems -from:alice@company.com", strategy: "hybrid" },
];

const STORES = ["chroma", "opensearch"] as const;

describe("hybrid search with each vector store (real local stack)", () => {
  const apps = new Map<string, TestApp>();

  beforeAll(async () => {
    // Quiet: the in-process app logs one audit line per search at INFO.
    logger.setLogLevel("ERROR");
    for (const store of STORES) {
      const t = await startTestApp(`stores-${store}`, { env: { VECTOR_STORE: store } });
      apps.set(store, t);
      const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES });
      expect(res.status).toBe(202);
    }
    for (const t of apps.values()) {
      await waitUntil("demo set indexed", async () => {
        const c = await storeCounts(createContainer(t.config));
        return inSync(c) && c.postgres === DEMO_MESSAGES.length;
      });
    }
  });
  afterAll(async () => {
    for (const t of apps.values()) await t.close();
    logger.setLogLevel(createContainer().config.LOG_LEVEL);
  });

  async function search(store: string, params: Record<string, string>): Promise<SearchBody> {
    const qs = new URLSearchParams({ limit: "5", ...params });
    const res = await apps.get(store)!.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as SearchBody;
  }

  it("the opensearch store writes its vectors to a k-NN index, not to Chroma", async () => {
    const c = createContainer(apps.get("opensearch")!.config);
    const index = await c.collections.writeIndex();
    expect(index.filtersInStore).toBe(true);
    expect(index.collectionName).toBe(c.config.OPENSEARCH_VECTOR_INDEX);
    expect(await index.count()).toBe(DEMO_MESSAGES.length);
    const chroma = createContainer({ ...c.config, VECTOR_STORE: "chroma" }).vectorIndex();
    expect(await chroma.exists()).toBe(false);
  });

  it.each(QUERIES)("answers %o with the same results from both stores", async (params) => {
    const [chroma, opensearch] = await Promise.all(STORES.map((s) => search(s, params)));
    expect(chroma!.degraded ?? []).toEqual([]);
    expect(opensearch!.degraded ?? []).toEqual([]);
    expect(chroma!.results.length).toBeGreaterThan(0);
    const view = (b: SearchBody) => b.results.map((r) => ({ content: r.content, ranks: r.ranks }));
    expect(view(opensearch!)).toEqual(view(chroma!));
    opensearch!.results.forEach((r, i) => {
      expect(r.score).toBeCloseTo(chroma!.results[i]!.score, 3);
    });
  });

  it("the semantic leg's filters hold in the k-NN store", async () => {
    const body = await search("opensearch", { q: "users can't login in:#auth-team", strategy: "semantic" });
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) expect(r.channel).toBe("#auth-team");
    const semantic = await search("opensearch", { q: "users can't login", strategy: "semantic" });
    expect(semantic.results.every((r) => r.ranks.semantic !== null && r.ranks.bm25 === null)).toBe(true);
  });
});
