import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { ChromaVectorIndex } from "../../functions/adapters/chroma/chroma-vector-index";
import { indexTemplateName } from "../../functions/adapters/opensearch/opensearch-keyword-index";
import { vectorSpaceId } from "../../functions/core/message-context";
import type { StoredMessage } from "../../functions/core/model";
import { driftTotal, type ReconcileReport } from "../../functions/core/reconcile";
import { collectionNameFor } from "../../functions/core/vector-collections";
import { chromaClient, openSearchClient } from "../../functions/shared/clients";
import { type Config, setConfig } from "../../functions/shared/config";
import { type Container, container, createContainer, setContainer } from "../../functions/shared/container";
import { runReconcile } from "../../functions/shared/reconcile-runner";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const N = DEMO_MESSAGES.length;

describe("reconciliation on the real local stack", () => {
  let t: TestApp;
  const extraCollections: string[] = [];

  /** The scheduled handler, invoked on demand through the local runtime (as EventBridge would). */
  const reconcileNow = async () => (await t.app.schedules.reconcile.runOnce()) as ReconcileReport;
  const dryRun = () => runReconcile(container(), { dryRun: true, maxPages: Number.POSITIVE_INFINITY });
  const counts = () => storeCounts(container());
  const settled = (live: number) =>
    waitUntil(
      `all three stores at ${live}`,
      async () => {
        const c = await counts();
        return inSync(c) && c.postgres === live ? c : null;
      },
      { timeoutMs: 60_000 },
    );
  /** The CLI as an operator runs it, against this test's database, index, collection and queues. */
  const cli = async (...args: string[]) => {
    const env = {
      ...process.env,
      DATABASE_URL: t.config.DATABASE_URL,
      OPENSEARCH_INDEX: t.config.OPENSEARCH_INDEX,
      CHROMA_COLLECTION: t.config.CHROMA_COLLECTION,
      CHROMA_URL: t.config.CHROMA_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      LOG_LEVEL: "ERROR",
    };
    try {
      const res = await run(path.join(ROOT, "node_modules/.bin/tsx"), ["cli/main.ts", ...args], {
        cwd: ROOT,
        env,
        timeout: 120_000,
      });
      return { code: 0, stdout: res.stdout, stderr: res.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  };
  /** `verify --json` exits 0 and shows all N messages in every store, nothing pending, no drift. */
  const expectVerifyInSync = async (extra: Record<string, unknown> = {}) => {
    const after = await cli("verify", "--json");
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      postgres: N,
      opensearch: N,
      chroma: N,
      outboxPending: 0,
      inSync: true,
      drift: 0,
      ...extra,
    });
  };
  const osDoc = async (id: number) => {
    const res = await openSearchClient(t.config).get(
      { index: t.config.OPENSEARCH_INDEX, id: String(id) },
      { ignore: [404] },
    );
    const body = res.body as { found?: boolean; _source?: { content: string; version: number } };
    return body.found ? (body._source ?? null) : null;
  };
  const vectorDoc = async (collection: string, id: number) => {
    const col = await chromaClient(t.config).getCollection({ name: collection });
    const res = await col.get({ ids: [`msg_${id}`], include: ["documents", "metadatas"] });
    return res.ids.length
      ? { content: res.documents[0], version: res.metadatas[0]?.version, model: res.metadatas[0]?.model }
      : null;
  };
  const liveIds = async () =>
    (
      await t.db.pool.query<{ id: string }>("SELECT id FROM messages WHERE deleted_at IS NULL ORDER BY id")
    ).rows.map((r) => Number(r.id));

  beforeAll(async () => {
    // The timed reconcile stays out of the way: every run here is started by the test.
    t = await startTestApp("reconcile", { visibilityTimeout: 2 });
    const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES });
    expect(res.status).toBe(202);
    await settled(N);
  });
  afterAll(async () => {
    await Promise.allSettled(
      extraCollections.map((name) => chromaClient(t.config).deleteCollection({ name })),
    );
    await t?.close();
  });

  it("an OpenSearch index deleted by hand is rebuilt by `reconcile`; `verify` then shows equal counts and zero drift", async () => {
    await openSearchClient(t.config).indices.delete({ index: t.config.OPENSEARCH_INDEX });
    const before = await cli("verify", "--json");
    expect(before.code).toBe(1);
    const drifted = JSON.parse(before.stdout) as {
      opensearch: number;
      drift: number;
      report: ReconcileReport;
    };
    expect(drifted.opensearch).toBe(0);
    expect(drifted.report.keyword.missing).toBe(N);
    expect(drifted.drift).toBe(N);
    // verify is read-only: it reports the missing index and does not create an empty one.
    expect(await container().keywordIndex().exists()).toBe(false);

    const rec = await cli("reconcile");
    expect(rec.code, rec.stderr).toBe(0);
    // checked, missing, stale, orphan, enqueued
    expect(rec.stdout).toMatch(new RegExp(`OpenSearch\\s+\\d+\\s+${N}\\s+0\\s+0\\s+${N}`));
    await settled(N);
    // Recreated with its own mapping, not one auto-created by a bulk write.
    const mapping = await openSearchClient(t.config).indices.getMapping({ index: t.config.OPENSEARCH_INDEX });
    expect(JSON.stringify(mapping.body)).toContain('"dynamic":"strict"');
    await expectVerifyInSync();
  });

  it("an OpenSearch index with a mapping Trisearch did not make (index and template deleted by hand, then auto-created by a write) is rebuilt by `reconcile`", async () => {
    const os = openSearchClient(t.config);
    const index = t.config.OPENSEARCH_INDEX;
    await os.indices.delete({ index });
    await os.indices.deleteIndexTemplate({ name: indexTemplateName(index) });
    // What a write does when nothing tells OpenSearch the mapping: a dynamic one.
    await os.index({ index, id: "1", body: { content: "OAuth2 rollout", message_id: 1 }, refresh: true });
    const keyword = container().keywordIndex();
    expect(await keyword.mappingState()).toBe("foreign");
    // A dry run leaves it as it is; verify reports it and fails.
    await dryRun();
    expect(await keyword.mappingState()).toBe("foreign");
    const before = await cli("verify", "--json");
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({ opensearchMapping: "foreign", inSync: false });

    const rec = await cli("reconcile");
    expect(rec.code, rec.stderr).toBe(0);
    await settled(N);
    expect(await keyword.mappingState()).toBe("product");
    expect((await os.indices.existsIndexTemplate({ name: indexTemplateName(index) })).body).toBe(true);
    await expectVerifyInSync({ opensearchMapping: "product" });
  });

  it("a Chroma collection deleted by hand: `verify` reports it empty without recreating it; `reconcile` rebuilds it", async () => {
    const chroma = chromaClient(t.config);
    await chroma.deleteCollection({ name: t.config.CHROMA_COLLECTION });
    const collectionExists = () =>
      chroma.getCollection({ name: t.config.CHROMA_COLLECTION }).then(
        () => true,
        () => false,
      );
    const before = await cli("verify", "--json");
    expect(before.code).toBe(1);
    const drifted = JSON.parse(before.stdout) as { chroma: number; report: ReconcileReport };
    expect(drifted.chroma).toBe(0);
    expect(drifted.report.vector.missing).toBe(N);
    expect(await collectionExists()).toBe(false);

    const rec = await cli("reconcile");
    expect(rec.code, rec.stderr).toBe(0);
    await settled(N);
    expect(await collectionExists()).toBe(true);
  });

  it("removes a vector and a document for a message that does not exist, and ones for a message deleted in PostgreSQL only", async () => {
    const c = container();
    const keyword = c.keywordIndex();
    const ghost: StoredMessage = {
      id: 900_001,
      sourceId: 1,
      source: { type: "slack", name: "acme" },
      externalId: "ghost",
      channel: "#platform",
      author: "ghost@company.com",
      content: "This message never existed in PostgreSQL",
      timestamp: new Date("2025-12-01T00:00:00Z"),
      threadId: null,
      metadata: {},
      embeddingId: null,
      version: 7,
      contentHash: "x",
      deletedAt: null,
    };
    expect((await keyword.upsert([ghost]))[0]?.ok).toBe(true);
    const vectors = await c.collections.writeIndex();
    const [embedding] = await c.embedder.embed([ghost.content]);
    await vectors.upsert([{ message: { ...ghost, id: 900_002 }, embedding: embedding! }]);
    // Deleted behind the pipeline's back: no outbox row, both indexes still hold it.
    const [victim] = await liveIds();
    await t.db.pool.query("UPDATE messages SET deleted_at = now(), version = version + 1 WHERE id = $1", [
      victim,
    ]);
    await keyword.refresh();
    expect(await osDoc(900_001)).not.toBeNull();
    expect(await vectorDoc(t.config.CHROMA_COLLECTION, 900_002)).not.toBeNull();

    const report = await reconcileNow();
    expect(report.keyword).toMatchObject({ orphan: 2, removed: 2, missing: 0, stale: 0 });
    expect(report.vector).toMatchObject({ orphan: 2, removed: 2, missing: 0, stale: 0 });
    await keyword.refresh();
    expect(await osDoc(900_001)).toBeNull();
    expect(await osDoc(victim!)).toBeNull();
    expect(await vectorDoc(t.config.CHROMA_COLLECTION, 900_002)).toBeNull();
    expect(await vectorDoc(t.config.CHROMA_COLLECTION, victim!)).toBeNull();
    expect(await counts()).toEqual({ postgres: N - 1, opensearch: N - 1, chroma: N - 1, outboxPending: 0 });
    expect(driftTotal(await dryRun())).toBe(0);
  });

  it("content changed directly in PostgreSQL (version bumped) is refreshed in both indexes; a second run finds zero drift", async () => {
    const id = (await liveIds())[3]!;
    const content = "Zebra crossing sensors reported offline in the parking garage";
    await t.db.pool.query("UPDATE messages SET content = $2, version = version + 1 WHERE id = $1", [
      id,
      content,
    ]);
    const { version } = (
      await t.db.pool.query<{ version: string }>("SELECT version FROM messages WHERE id = $1", [id])
    ).rows[0]!;

    const report = await reconcileNow();
    expect(report.keyword).toMatchObject({ stale: 1, enqueued: 1, missing: 0, orphan: 0 });
    expect(report.vector).toMatchObject({ stale: 1, enqueued: 1, missing: 0, orphan: 0 });
    await waitUntil("both indexes hold the new content", async () => {
      const [os, vec] = [await osDoc(id), await vectorDoc(t.config.CHROMA_COLLECTION, id)];
      return os?.content === content && vec?.content === content;
    });
    expect((await osDoc(id))?.version).toBe(Number(version));
    expect((await vectorDoc(t.config.CHROMA_COLLECTION, id))?.version).toBe(Number(version));
    // The refreshed vector is found by meaning.
    const [q] = await container().embedder.embed(["pedestrian crossing detectors are down"]);
    const hits = await (await container().collections.writeIndex()).query(q!, {}, 1);
    expect(hits[0]?.messageId).toBe(id);

    const again = await reconcileNow();
    expect(again, JSON.stringify(again)).toMatchObject({ keyword: { missing: 0, stale: 0, orphan: 0 } });
    expect(driftTotal(again), JSON.stringify(again)).toBe(0);
    expect(again.keyword.enqueued + again.vector.enqueued).toBe(0);
  });

  it("`reindex --target all` rebuilds both indexes straight from PostgreSQL, without the queues", async () => {
    const live = await liveIds();
    await openSearchClient(t.config).indices.delete({ index: t.config.OPENSEARCH_INDEX });
    const col = await chromaClient(t.config).getCollection({ name: t.config.CHROMA_COLLECTION });
    await col.delete({ ids: live.slice(0, 10).map((id) => `msg_${id}`) });
    const received = () => t.app.pollers.keyword.counters.received + t.app.pollers.vector.counters.received;
    const receivedBefore = received();

    const res = await cli("reindex", "--target", "all");
    expect(res.code, res.stderr).toBe(0);
    // index, rows (live + deleted), written, failed
    expect(res.stdout).toMatch(new RegExp(`keyword\\s+${N}\\s+${N}\\s+0`));
    expect(res.stdout).toMatch(new RegExp(`vector\\s+${N}\\s+${N}\\s+0`));
    expect(await counts()).toEqual({
      postgres: live.length,
      opensearch: live.length,
      chroma: live.length,
      outboxPending: 0,
    });
    expect(received()).toBe(receivedBefore);
    expect(driftTotal(await dryRun())).toBe(0);
  });

  it("a changed embedding model id re-embeds every vector into the new model's collection while search keeps working, then switches", async () => {
    const oldCfg = t.config;
    const newModelBase = "all-minilm-l6-v2-q@reconcile-test";
    // The vector space: the model id plus the vector leg's context version (message-context.ts).
    const newModel = vectorSpaceId(newModelBase, oldCfg.contextPolicy);
    const cfg: Config = { ...oldCfg, ONNX_MODEL_ID: newModelBase };
    const newCollection = collectionNameFor(oldCfg.CHROMA_COLLECTION, newModel);
    extraCollections.push(newCollection);
    // A redeploy with the new setting: handlers resolve the container per invocation.
    setConfig(cfg);
    const c: Container = createContainer(cfg);
    setContainer(c);
    try {
      expect(c.embedder.modelId).toBe(newModel);
      const resolved = await c.collections.collections({ fresh: true });
      expect(resolved).toMatchObject({
        switching: true,
        active: { name: oldCfg.CHROMA_COLLECTION },
        write: { name: newCollection, model: newModel },
      });
      const live = await liveIds();
      const searchWorks = async () => {
        const active = await c.collections.activeIndex();
        const leg = await c.collections.semanticLeg();
        // Query vectors come from the model the active collection holds, not the configured one.
        expect(leg.embedder.modelId).toBe(active.collection.model);
        const [q] = await leg.embedder.embed(["users cannot log in after a password reset"]);
        const hits = await leg.vector.query(q!, {}, 5);
        expect(hits.length).toBe(5);
        const api = await t.api("GET", "/search?q=login+problems&strategy=semantic");
        expect(api.status).toBe(200);
        expect((api.body as { results: unknown[] }).results.length).toBeGreaterThan(0);
        return active.collection.name;
      };
      expect(await searchWorks()).toBe(oldCfg.CHROMA_COLLECTION);

      const newIndex = new ChromaVectorIndex(chromaClient(cfg), newCollection, {
        modelId: newModel,
        dimension: 384,
      });
      // A bounded run (one page of 10 ids) re-embeds only part of the set: the switch is provably
      // half done while we search.
      const firstPage = Number(
        (
          await t.db.pool.query(
            "SELECT count(*) AS n FROM (SELECT deleted_at FROM messages ORDER BY id LIMIT 10) p WHERE deleted_at IS NULL",
          )
        ).rows[0].n,
      );
      const partial = await runReconcile(c, { maxPages: 1, pageSize: 10 });
      expect(partial.passComplete).toBe(false);
      expect(partial.vector).toMatchObject({
        collection: newCollection,
        missing: firstPage,
        enqueued: firstPage,
      });
      await waitUntil("the first page re-embedded", async () => (await newIndex.count()) === firstPage);
      expect(await searchWorks()).toBe(oldCfg.CHROMA_COLLECTION);
      expect((await c.collections.collections({ fresh: true })).switching).toBe(true);
      expect(await newIndex.count()).toBe(firstPage);

      // The scheduled run resumes from the stored cursor and enqueues the rest.
      const rest = await reconcileNow();
      expect(rest.passComplete).toBe(true);
      expect(rest.vector).toMatchObject({
        missing: live.length - firstPage,
        enqueued: live.length - firstPage,
      });
      expect(rest.keyword.missing + rest.keyword.stale).toBe(0);
      expect(rest.switchedTo).toBeUndefined();
      await waitUntil(
        "every vector re-embedded into the new collection",
        async () => {
          // Search keeps answering from the old collection until the switch.
          expect(await searchWorks()).toBe(oldCfg.CHROMA_COLLECTION);
          return (await newIndex.count()) === live.length;
        },
        { timeoutMs: 90_000, everyMs: 300 },
      );

      const second = await reconcileNow();
      expect(driftTotal(second)).toBe(0);
      expect(second.switchedTo).toBe(newCollection);
      expect((await c.collections.collections({ fresh: true })).active.name).toBe(newCollection);
      expect(await searchWorks()).toBe(newCollection);

      const stored = await newIndex.getVersions(live);
      expect(stored.size).toBe(live.length);
      expect(new Set([...stored.values()].map((v) => v.model))).toEqual(new Set([newModel]));
      const rows = await t.db.pool.query(
        "SELECT DISTINCT vector_model FROM messages WHERE deleted_at IS NULL",
      );
      expect(rows.rows).toEqual([{ vector_model: newModel }]);
      expect(await counts()).toEqual({
        postgres: live.length,
        opensearch: live.length,
        chroma: live.length,
        outboxPending: 0,
      });
      const third = await reconcileNow();
      expect(driftTotal(third)).toBe(0);
      expect(third.switchedTo).toBeUndefined();
    } finally {
      setConfig(oldCfg);
    }
  });
});
