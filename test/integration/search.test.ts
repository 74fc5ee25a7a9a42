import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { ingestAndWait, startTestApp, type TestApp } from "../helpers/local-app";

interface Hit {
  message_id: number;
  content: string;
  channel: string;
  author: string;
  timestamp: string;
  source: string;
  score: number;
  ranks: { bm25: number | null; semantic: number | null };
  leg_scores?: { bm25: number | null; semantic: number | null };
}
interface SearchBody {
  strategy: string;
  took_ms: number;
  results: Hit[];
  next_cursor: string | null;
  degraded?: string[];
}

describe("search API on the demo set (real local stack)", () => {
  let t: TestApp;
  const search = async (params: Record<string, string | number | boolean>) => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await t.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as SearchBody;
  };

  beforeAll(async () => {
    t = await startTestApp("search");
    await ingestAndWait(t, DEMO_SOURCE, DEMO_MESSAGES);
  });
  afterAll(async () => t?.close());

  it("bm25 OAuth returns only messages with OAuth forms, best first", async () => {
    const body = await search({ q: "OAuth", strategy: "bm25" });
    const expected = DEMO_MESSAGES.filter((m) => /oauth/i.test(m.content));
    expect(body.results.map((r) => r.content).sort()).toEqual(expected.map((m) => m.content).sort());
    const scores = body.results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // BM25 scores, read from the hits' sort values.
    expect(scores.every((s) => s > 0)).toBe(true);
    expect(body.results.every((r) => r.ranks.semantic === null && r.ranks.bm25 !== null)).toBe(true);
  });

  it('a quoted phrase matches the phrase only: "authorization code flow"', async () => {
    const body = await search({ q: '"authorization code flow"', strategy: "bm25" });
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) expect(r.content.toLowerCase()).toContain("authorization code flow");
    // "code flow with PKCE" alone (no "authorization" before it) must not match.
    expect(body.results.some((r) => r.content.includes("we stay on code flow"))).toBe(false);
  });

  it("bug NOT fixed excludes messages containing fixed", async () => {
    const body = await search({ q: "bug NOT fixed", strategy: "bm25" });
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) {
      expect(r.content.toLowerCase()).toMatch(/\bbug/);
      expect(r.content.toLowerCase()).not.toMatch(/\bfix(ed)?\b/);
    }
    const dash = await search({ q: "bug -fixed", strategy: "bm25" });
    expect(dash.results.map((r) => r.message_id)).toEqual(body.results.map((r) => r.message_id));
  });

  it("semantic: users can't login puts the three login problems in the top 6, with only login messages in the top 4", async () => {
    const body = await search({ q: "users can't login", strategy: "semantic" });
    // The demo set has ~10 messages about users failing to log in ("accounts lock after 10 failed
    // login attempts", "mobile users are logged out every morning"); which of them lead moves with
    // the int8 model's batch-dependent vectors (onnx-embedder.ts): in one full-suite run of
    // 2026-12-05, bge left "Authentication failing after password reset" out of the top 4. What must
    // hold is that the three problems rank near the top and nothing off the subject gets in between.
    const top6 = body.results.slice(0, 6).map((r) => r.content);
    expect(top6.some((c) => c.startsWith("Authentication failing after password reset"))).toBe(true);
    expect(top6.some((c) => c.startsWith("Users can't sign in on mobile"))).toBe(true);
    expect(top6.some((c) => c.startsWith("Login screen stuck on loading"))).toBe(true);
    for (const c of top6.slice(0, 4)) expect(c).toMatch(/log ?in|sign in|authenticat/i);
    expect(body.results.every((r) => r.score <= 1 && r.score > 0)).toBe(true);
  });

  it("GET filters: a JSON-array value and a repeated key together (API Gateway would join them with a comma)", async () => {
    const qs = `q=login&strategy=bm25&limit=50&channel=${encodeURIComponent('["#auth-team","#mobile"]')}&channel=%23billing`;
    const res = await t.api("GET", `/search?${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { results } = res.body as SearchBody;
    const channels = new Set(results.map((r) => r.channel));
    expect(results.length).toBeGreaterThan(0);
    expect([...channels].every((c) => ["#auth-team", "#mobile", "#billing"].includes(c))).toBe(true);
    // The whole demo set's login messages in those channels, not only one channel's.
    const each = await Promise.all(
      ["#auth-team", "#mobile", "#billing"].map((channel) =>
        search({ q: "login", strategy: "bm25", channel, limit: 50 }),
      ),
    );
    expect(results.map((r) => r.message_id).sort()).toEqual(
      each.flatMap((b) => b.results.map((r) => r.message_id)).sort(),
    );
  });

  it("hybrid (convex, the default) scores each hit by its legs' weighted contributions", async () => {
    const body = await search({ q: "OAuth security", explain: true });
    expect(body.strategy).toBe("hybrid");
    expect(body.results.length).toBeGreaterThan(0);
    const { SEARCH_BM25_WEIGHT: wb, SEARCH_SEMANTIC_WEIGHT: ws } = t.config;
    const bm25Share = wb / (wb + ws);
    // Some hit must use its share fully (the best normalised score of a leg is 1).
    expect(
      Math.max(
        ...body.results.map(
          (r) => (r as unknown as { contributions: { bm25: number | null } }).contributions.bm25 ?? 0,
        ),
      ),
    ).toBeCloseTo(bm25Share, 6);
    for (const r of body.results) {
      const c = (r as unknown as { contributions: { bm25: number | null; semantic: number | null } })
        .contributions;
      expect((c.bm25 ?? 0) + (c.semantic ?? 0)).toBeCloseTo(r.score, 10);
      // Normalised scores times the configured weight shares: each contribution within its share.
      expect(c.bm25 ?? 0).toBeLessThanOrEqual(bm25Share + 1e-9);
      expect(c.semantic ?? 0).toBeLessThanOrEqual(1 - bm25Share + 1e-9);
      expect(c.bm25 === null).toBe(r.ranks.bm25 === null);
    }
    const scores = body.results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("hybrid with fusion=rrf ranks messages found by both legs above single-leg ones", async () => {
    const body = await search({
      q: "OAuth security",
      explain: true,
      fusion: "rrf",
      bm25_weight: 1,
      semantic_weight: 1,
    });
    expect(body.strategy).toBe("hybrid");
    const both = body.results.filter((r) => r.ranks.bm25 !== null && r.ranks.semantic !== null);
    const single = body.results.filter((r) => r.ranks.bm25 === null || r.ranks.semantic === null);
    expect(both.length).toBeGreaterThan(0);
    expect(body.results[0]!.ranks.bm25).not.toBeNull();
    expect(body.results[0]!.ranks.semantic).not.toBeNull();
    // RRF: score = sum of 1/(60 + rank) over the legs that found it.
    for (const r of body.results) {
      const expected =
        (r.ranks.bm25 ? 1 / (60 + r.ranks.bm25) : 0) + (r.ranks.semantic ? 1 / (60 + r.ranks.semantic) : 0);
      expect(r.score).toBeCloseTo(expected, 10);
      expect(r.leg_scores).toBeDefined();
    }
    // Found by both at ranks (a, b) beats found by one at rank min(a, b).
    const bestBoth = both[0]!;
    const bestSingleScore = Math.max(...single.map((s) => s.score));
    expect(bestBoth.score).toBeGreaterThan(bestSingleScore);
  });

  it.each(["hybrid", "bm25", "semantic"])(
    "%s: filters exclude every other message and the page stays full",
    async (strategy) => {
      const q =
        strategy === "bm25"
          ? "the OR token OR login OR session OR OAuth OR security OR bug"
          : "login security";
      const inChannel = await search({ q, strategy, channel: "#auth-team", limit: 5 });
      expect(inChannel.results).toHaveLength(5);
      expect(new Set(inChannel.results.map((r) => r.channel))).toEqual(new Set(["#auth-team"]));
      const byAuthor = await search({ q, strategy, author: "charlie@company.com", limit: 3 });
      expect(byAuthor.results.length).toBeGreaterThan(0);
      expect(new Set(byAuthor.results.map((r) => r.author))).toEqual(new Set(["charlie@company.com"]));
      const from = "2025-12-08T00:00:00Z";
      const to = "2025-12-10T23:59:59Z";
      const ranged = await search({ q, strategy, from, to, limit: 100 });
      expect(ranged.results.length).toBeGreaterThan(0);
      for (const r of ranged.results) {
        expect(Date.parse(r.timestamp)).toBeGreaterThanOrEqual(Date.parse(from));
        expect(Date.parse(r.timestamp)).toBeLessThanOrEqual(Date.parse(to));
      }
      const other = await search({ q, strategy, source: "globex" });
      expect(other.results).toEqual([]);
      const mine = await search({ q, strategy, source: "slack:acme", limit: 2 });
      expect(mine.results).toHaveLength(2);
    },
  );

  it("paging with next_cursor: 3 pages, no duplicates, no gaps", async () => {
    for (const strategy of ["hybrid", "semantic", "bm25"]) {
      const q =
        strategy === "bm25" ? "the OR team OR bug OR login OR invoice OR release" : "customer problems";
      const all = await search({ q, strategy, limit: 15 });
      expect(all.results.length).toBe(15);
      const ids: number[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 3; page++) {
        const body = await search({ q, strategy, limit: 5, ...(cursor ? { cursor } : {}) });
        expect(body.results).toHaveLength(5);
        ids.push(...body.results.map((r) => r.message_id));
        cursor = body.next_cursor;
        if (page < 2) expect(cursor, `${strategy} page ${page + 1}`).not.toBeNull();
      }
      expect(new Set(ids).size).toBe(15);
      expect(ids).toEqual(all.results.map((r) => r.message_id));
    }
  });

  it("POST /search takes the same parameters as JSON", async () => {
    const res = await t.api("POST", "/search", {
      q: "OAuth",
      strategy: "bm25",
      channel: ["#auth-team"],
      limit: 3,
    });
    expect(res.status).toBe(200);
    expect((res.body as SearchBody).results).toHaveLength(3);
  });

  it("bad parameters are a 400 naming the field; metacharacters and NUL are text, never a 500", async () => {
    const bad = await t.api("GET", "/search?q=&limit=500&strategy=fuzzy&from=yesterday");
    expect(bad.status).toBe(400);
    const paths = (bad.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["q", "limit", "strategy", "from"]));
    for (const q of ['OAuth:* AND (+"', "a\u0000b", "\\/{}[]^~?", "NOT", "((((", '"unbalanced']) {
      const res = await t.api("GET", `/search?${new URLSearchParams({ q, strategy: "hybrid" })}`);
      expect([200, 400], `${JSON.stringify(q)} -> ${res.status} ${JSON.stringify(res.body)}`).toContain(
        res.status,
      );
    }
    const wrongCursor = await search({ q: "OAuth", limit: 2 });
    const reused = await t.api("GET", `/search?q=billing&limit=2&cursor=${wrongCursor.next_cursor}`);
    expect(reused.status).toBe(400);
  });

  it("deleted messages are dropped at enrichment", async () => {
    const before = await search({ q: "Stripe webhooks", strategy: "bm25" });
    const target = before.results[0]!;
    expect(target.content).toMatch(/Stripe webhook/);
    // Soft-delete in Postgres only: the indexes still hold it, enrichment must hide it.
    await t.db.pool.query("UPDATE messages SET deleted_at = now() WHERE id = $1", [target.message_id]);
    const after = await search({ q: "Stripe webhooks", strategy: "bm25" });
    expect(after.results.map((r) => r.message_id)).not.toContain(target.message_id);
    await t.db.pool.query("UPDATE messages SET deleted_at = NULL WHERE id = $1", [target.message_id]);
  });
});
