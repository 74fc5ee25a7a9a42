import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { embeddingText, type LegContextPolicy, parseLegPolicy } from "../../functions/core/message-context";
import { driftTotal, type ReconcileReport } from "../../functions/core/reconcile";
import { openSearchClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { runReconcile } from "../../functions/shared/reconcile-runner";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

/**
 * Message context on the real stack: a message's indexed representation includes its neighbours,
 * so editing or deleting one message must refresh the messages whose context it is, in both
 * indexes, and a change of context policy must end with every vector and document current.
 */

const SOURCE = { type: "slack", name: "ctx-test" };
const at = (minute: number) => new Date(Date.UTC(2025, 5, 2, 9, minute)).toISOString();
const MESSAGES = [
  {
    external_id: "a",
    channel: "#auth",
    author: "alice",
    content: "Who owns the token refresh bug?",
    timestamp: at(0),
  },
  { external_id: "b", channel: "#auth", author: "bob", content: "I do, patching it today", timestamp: at(1) },
  { external_id: "c", channel: "#auth", author: "alice", content: "thanks", timestamp: at(2) },
  {
    external_id: "p",
    channel: "#mobile",
    author: "carol",
    content: "Android login loops forever",
    timestamp: at(3),
  },
  {
    external_id: "r",
    channel: "#mobile",
    author: "dave",
    content: "same here since Monday",
    timestamp: at(4),
    thread_id: "p",
  },
];
const KEYWORD = "author,parent,preceding:1";
const VECTOR = "author,parent,preceding:1";

describe("message context on the real local stack", () => {
  let t: TestApp;
  const ids = new Map<string, number>();

  const reconcileNow = async () => (await t.app.schedules.reconcile.runOnce()) as ReconcileReport;
  /** Every live row applied at its current version in both indexes, nothing pending, no drift. */
  const current = () =>
    waitUntil(
      "every message current in both indexes",
      async () => {
        const lag = await t.db.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM messages WHERE deleted_at IS NULL
             AND (keyword_version IS DISTINCT FROM version OR vector_version IS DISTINCT FROM version)`,
        );
        const counts = await storeCounts(container());
        return Number(lag.rows[0]?.n) === 0 && inSync(counts) ? counts : null;
      },
      { timeoutMs: 90_000 },
    );
  const version = async (key: string) =>
    Number(
      (
        await t.db.pool.query<{ version: string }>("SELECT version FROM messages WHERE id = $1", [
          ids.get(key),
        ])
      ).rows[0]?.version,
    );
  const keywordContext = async (key: string) => {
    const res = await openSearchClient(t.config).get({
      index: t.config.OPENSEARCH_INDEX,
      id: String(ids.get(key)),
    });
    return (res.body._source as { context?: string }).context ?? "";
  };
  /** Cosine similarity between the stored vector of `key` and a fresh embedding of `text`. */
  const storedVectorSimilarity = async (key: string, text: string) => {
    const c = container();
    const { index } = await c.collections.activeIndex();
    const [hit] = await index.queryAmong((await c.embedder.embed([text]))[0]!, [ids.get(key)!], 1);
    return hit?.score ?? -1;
  };
  const row = (key: string) => {
    const m = MESSAGES.find((x) => x.external_id === key)!;
    return { author: m.author, channel: m.channel, content: m.content };
  };
  const text = (
    self: { author: string; channel: string; content: string },
    before: { author: string; content: string }[],
    parent: { author: string; content: string } | null,
    policy: LegContextPolicy = parseLegPolicy(VECTOR),
  ) => embeddingText(self, { parent, preceding: before }, policy);

  beforeAll(async () => {
    t = await startTestApp("message-context", {
      env: { CONTEXT_KEYWORD: KEYWORD, CONTEXT_VECTOR: VECTOR, CONTEXT_WINDOW_MINUTES: "30" },
    });
    const res = await t.api("POST", "/messages", { source: SOURCE, messages: MESSAGES });
    expect(res.status).toBe(202);
    for (const a of (res.body as { accepted: { external_id: string; message_id: number }[] }).accepted)
      ids.set(a.external_id, a.message_id);
    await current();
  });

  afterAll(async () => {
    await t?.close();
  });

  it("indexes each message with its context: the keyword context field and the embedded text", async () => {
    expect(await keywordContext("b")).toBe("bob\nalice: Who owns the token refresh bug?");
    // The thread reply: its parent, and no channel neighbour (the thread is its conversation).
    expect(await keywordContext("r")).toBe("dave\ncarol: Android login loops forever");
    const b = text(row("b"), [row("a")], null);
    expect(await storedVectorSimilarity("b", b)).toBeGreaterThan(0.97);
    // The bare message is a different vector: the context is really in the index.
    expect(await storedVectorSimilarity("b", row("b").content)).toBeLessThan(0.95);
  });

  it("a message found through its context: bm25 finds the answer by the question's words", async () => {
    const res = await t.api("GET", "/search?q=token+refresh+owner&strategy=bm25&channel=%23auth");
    const hits = (res.body as { results: { external_id: string }[] }).results.map((r) => r.external_id);
    expect(hits.slice(0, 2).sort()).toEqual(["a", "b"]);
    // ...but the question itself, whose own words match, ranks first.
    expect(hits[0]).toBe("a");
  });

  it("editing a message refreshes the next message and the thread's replies, and nothing else", async () => {
    const before = { b: await version("b"), c: await version("c"), r: await version("r") };
    const edits = [
      { ...MESSAGES[0]!, content: "Who owns the zebra-crossing refresh bug?" },
      { ...MESSAGES[3]!, content: "Android login loops forever on Pixel" },
    ];
    const res = await t.api("POST", "/messages", { source: SOURCE, messages: edits });
    expect(res.status).toBe(202);
    await current();
    expect(await version("b")).toBe(before.b + 1);
    expect(await version("r")).toBe(before.r + 1);
    // c's context is b, which did not change.
    expect(await version("c")).toBe(before.c);
    expect(await keywordContext("b")).toContain("zebra-crossing");
    expect(await keywordContext("r")).toContain("on Pixel");
    const edited = { author: "alice", content: edits[0]!.content };
    const bNow = await storedVectorSimilarity("b", text(row("b"), [edited], null));
    expect(bNow).toBeGreaterThan(0.95);
    expect(bNow).toBeGreaterThan(await storedVectorSimilarity("b", text(row("b"), [row("a")], null)));
    const rNow = await storedVectorSimilarity(
      "r",
      text(row("r"), [], { author: "carol", content: edits[1]!.content }),
    );
    expect(rNow).toBeGreaterThan(0.95);
    expect(rNow).toBeGreaterThan(await storedVectorSimilarity("r", text(row("r"), [], row("p"))));
  });

  it("deleting a message hands its place to the one before it", async () => {
    const c = await version("c");
    expect((await t.api("DELETE", `/messages/${ids.get("b")}`)).status).toBe(202);
    await current();
    expect(await version("c")).toBe(c + 1);
    expect(await keywordContext("c")).toBe("alice\nalice: Who owns the zebra-crossing refresh bug?");
    const report = await runReconcile(container(), { dryRun: true, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(report)).toBe(0);
  });

  it("a change of context policy ends with every vector and document current, search working throughout", async () => {
    const oldSpace = (await container().collections.collections({ fresh: true })).active.model;
    await t.reconfigure({
      CONTEXT_KEYWORD: "author",
      CONTEXT_VECTOR: "author",
      CONTEXT_WINDOW_MINUTES: "30",
    });
    const c = container();
    expect(await c.keywordIndex().mappingState()).toBe("outdated");
    const switching = await c.collections.collections({ fresh: true });
    expect(switching.switching).toBe(true);
    expect(switching.active.model).toBe(oldSpace);
    // Mid-switch, the semantic leg still answers from the previous vector space.
    const mid = await t.api("GET", "/search?q=android+login&strategy=semantic");
    expect(mid.status).toBe(200);
    expect((mid.body as { results: unknown[] }).results.length).toBeGreaterThan(0);

    await waitUntil(
      "the new vector space promoted and the keyword index rebuilt",
      async () => {
        await reconcileNow();
        const cols = await container().collections.collections({ fresh: true });
        return !cols.switching && (await container().keywordIndex().mappingState()) === "product";
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    await current();
    const after = await container().collections.collections({ fresh: true });
    expect(after.active.model).not.toBe(oldSpace);
    expect(await keywordContext("c")).toBe("alice");
    const authorOnly = parseLegPolicy("author");
    const now = await storedVectorSimilarity("c", text(row("c"), [], null, authorOnly));
    const before = await storedVectorSimilarity(
      "c",
      text(row("c"), [{ author: "alice", content: "Who owns the zebra-crossing refresh bug?" }], null),
    );
    // int8 activations move a vector slightly with its batch (cosine ~0.97-0.99 for the same text).
    expect(now).toBeGreaterThan(0.95);
    expect(now).toBeGreaterThan(before);
    const verify = await runReconcile(container(), { dryRun: true, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(verify)).toBe(0);
  });
});
