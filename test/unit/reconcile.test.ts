import { describe, expect, it } from "vitest";
import type { LegHit, StoredMessage } from "../../functions/core/model";
import type {
  IndexedVersion,
  IndexWriteOutcome,
  OutboxEntry,
  OutboxStore,
  ReconcilableKeywordIndex,
  ReconcilableVectorIndex,
} from "../../functions/core/ports";
import {
  driftTotal,
  type ReconcileCursor,
  type ReconcileDeps,
  type ReconcileReport,
  type ReconcileStore,
  type RepairJob,
  type RowVersion,
  reconcile,
} from "../../functions/core/reconcile";
import {
  collectionNameFor,
  promoteVectorCollection,
  resolveVectorCollections,
  type VectorCollectionRegistry,
  type VectorCollectionState,
} from "../../functions/core/vector-collections";
import { MemoryPublisher } from "../helpers/memory-ports";

class FakeStore implements ReconcileStore, OutboxStore {
  rows = new Map<number, RowVersion>();
  outbox: (OutboxEntry & { sent: boolean })[] = [];
  cursor: unknown = null;
  lease: string | null = null;
  saves = 0;
  put(id: number, version = 1, deleted = false) {
    this.rows.set(id, { id, version, deleted });
  }
  async listRowVersions(afterId: number, limit: number) {
    return [...this.rows.values()]
      .filter((r) => r.id > afterId)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit);
  }
  async rowVersions(ids: readonly number[]) {
    return new Map(ids.flatMap((id) => (this.rows.has(id) ? [[id, this.rows.get(id)!] as const] : [])));
  }
  async enqueueRepairs(jobs: readonly RepairJob[]) {
    return jobs
      .filter(
        (j) => !this.outbox.some((o) => !o.sent && o.target === j.target && o.job.messageId === j.messageId),
      )
      .map((j) => {
        const id = this.outbox.length + 1;
        this.outbox.push({
          id,
          target: j.target,
          job: { messageId: j.messageId, op: "upsert", version: j.version },
          sent: false,
        });
        return { outboxId: id, target: j.target };
      });
  }
  async maxId() {
    return Math.max(0, ...this.rows.keys());
  }
  async loadCursor() {
    return this.cursor;
  }
  async saveCursor(_name: string, cursor: ReconcileCursor) {
    this.saves++;
    this.cursor = JSON.parse(JSON.stringify(cursor));
  }
  async acquireLease(_name: string, owner: string) {
    if (this.lease && this.lease !== owner) return false;
    this.lease = owner;
    return true;
  }
  async releaseLease(_name: string, owner: string) {
    if (this.lease === owner) this.lease = null;
  }
  async drain(
    opts: { limit: number; ids?: readonly number[] },
    publish: (e: readonly OutboxEntry[]) => Promise<Set<number>>,
  ) {
    const pending = this.outbox
      .filter((e) => !e.sent && (!opts.ids || opts.ids.includes(e.id)))
      .slice(0, opts.limit);
    const ok = await publish(pending);
    for (const e of pending) if (ok.has(e.id)) e.sent = true;
    return { sent: ok.size, failed: pending.length - ok.size };
  }
  async countPending() {
    return this.outbox.filter((e) => !e.sent).length;
  }
}

class FakeKeyword implements ReconcilableKeywordIndex {
  docs = new Map<number, number>();
  removed: { messageId: number; version: number }[] = [];
  async upsert(rows: readonly StoredMessage[]): Promise<IndexWriteOutcome[]> {
    return rows.map((r) => ({ messageId: r.id, ok: true }));
  }
  async remove(jobs: readonly { messageId: number; version: number }[]) {
    return jobs.map((j) => {
      this.removed.push(j);
      this.docs.delete(j.messageId);
      return { messageId: j.messageId, ok: true };
    });
  }
  async count() {
    return this.docs.size;
  }
  async listVersions(afterId: number, limit: number): Promise<IndexedVersion[]> {
    return [...this.docs]
      .filter(([id]) => id > afterId)
      .sort((a, b) => a[0] - b[0])
      .slice(0, limit)
      .map(([messageId, version]) => ({ messageId, version }));
  }
}

class FakeVector implements ReconcilableVectorIndex {
  // Insertion order = storage order, as in Chroma.
  vectors = new Map<number, { version: number; model: string }>();
  removed: number[] = [];
  async upsert() {}
  async remove(ids: readonly number[]) {
    for (const id of ids) {
      this.removed.push(id);
      this.vectors.delete(id);
    }
  }
  async query(): Promise<LegHit[]> {
    return [];
  }
  async count() {
    return this.vectors.size;
  }
  async listVersions(offset: number, limit: number) {
    return [...this.vectors].slice(offset, offset + limit).map(([messageId, v]) => ({ messageId, ...v }));
  }
  async getVersions(ids: readonly number[]) {
    return new Map(
      ids.flatMap((id) => {
        const v = this.vectors.get(id);
        return v ? [[id, { messageId: id, ...v }] as const] : [];
      }),
    );
  }
}

const MODEL = "m1";

function setup(n = 20) {
  const store = new FakeStore();
  const keyword = new FakeKeyword();
  const vector = new FakeVector();
  const publisher = new MemoryPublisher();
  for (let id = 1; id <= n; id++) {
    store.put(id, 2);
    keyword.docs.set(id, 2);
    vector.vectors.set(id, { version: 2, model: MODEL });
  }
  const deps: ReconcileDeps = {
    store,
    outbox: store,
    publisher,
    keywordIndex: keyword,
    vectorIndex: vector,
    vectorModel: MODEL,
    vectorCollection: "c",
  };
  return { store, keyword, vector, publisher, deps };
}

/** A mix of every drift class in both indexes. */
function addDrift(s: ReturnType<typeof setup>) {
  s.keyword.docs.delete(3); // keyword missing
  s.vector.vectors.delete(4); // vector missing
  s.keyword.docs.set(5, 1); // keyword stale
  s.vector.vectors.set(6, { version: 1, model: MODEL }); // vector stale
  s.vector.vectors.set(7, { version: 2, model: "m0" }); // vector from another model
  s.store.put(8, 3, true); // deleted in Postgres: both entries are orphans
  s.keyword.docs.set(500, 4); // absent from Postgres (beyond the last row)
  s.keyword.docs.set(0.5 + 10, 1); // never a row (between rows)
  s.vector.vectors.set(600, { version: 1, model: MODEL });
}

describe("reconcile", () => {
  it("classifies missing, stale and orphan per index and repairs them (small pages)", async () => {
    const s = setup();
    addDrift(s);
    const r = await reconcile(s.deps, { pageSize: 3, maxPages: Number.POSITIVE_INFINITY });
    expect(r.passComplete).toBe(true);
    expect(r.keyword).toMatchObject({ missing: 1, stale: 1, orphan: 3, enqueued: 2, removed: 3 });
    expect(r.vector).toMatchObject({
      missing: 1,
      stale: 2,
      staleModel: 1,
      orphan: 2,
      enqueued: 3,
      removed: 2,
    });
    expect(driftTotal(r)).toBe(10);
    // Repairs went to the outbox for the right index only, and were published.
    const jobs = s.store.outbox.map((o) => `${o.target}:${o.job.messageId}@${o.job.version}`).sort();
    expect(jobs).toEqual(["keyword:3@2", "keyword:5@2", "vector:4@2", "vector:6@2", "vector:7@2"]);
    expect(s.store.outbox.every((o) => o.sent)).toBe(true);
    expect(s.publisher.published).toHaveLength(5);
    // External-version deletes: above the document's version and at least the row's.
    expect(s.keyword.removed.sort((a, b) => a.messageId - b.messageId)).toEqual([
      { messageId: 8, version: 3 },
      { messageId: 10.5, version: 2 },
      { messageId: 500, version: 5 },
    ]);
    expect(s.vector.removed.sort((a, b) => a - b)).toEqual([8, 600]);
  });

  it("counts as enqueued only the repairs it wrote, not ones already pending in the outbox", async () => {
    const s = setup();
    addDrift(s);
    // The missing keyword document already has an unsent job (e.g. the relay is behind).
    s.store.outbox.push({
      id: 1,
      target: "keyword",
      job: { messageId: 3, op: "upsert", version: 2 },
      sent: false,
    });
    const r = await reconcile(s.deps, { pageSize: 3, maxPages: Number.POSITIVE_INFINITY });
    expect(r.keyword).toMatchObject({ missing: 1, stale: 1, enqueued: 1 });
    expect(r.vector.enqueued).toBe(3);
    const keywordJobs = s.store.outbox.filter((o) => o.target === "keyword").map((o) => o.job.messageId);
    expect(keywordJobs.sort()).toEqual([3, 5]);
  });

  it("a dry run reports the same drift and changes nothing", async () => {
    const s = setup();
    addDrift(s);
    const keywordBefore = [...s.keyword.docs];
    const vectorsBefore = [...s.vector.vectors];
    const r = await reconcile(s.deps, { dryRun: true, pageSize: 4, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(r)).toBe(10);
    expect(r.keyword.enqueued + r.vector.enqueued + r.keyword.removed + r.vector.removed).toBe(0);
    expect([...s.keyword.docs]).toEqual(keywordBefore);
    expect([...s.vector.vectors]).toEqual(vectorsBefore);
    expect(s.store.outbox).toEqual([]);
    expect(s.store.saves).toBe(0);
  });

  it("a second run after the repairs are applied finds zero drift", async () => {
    const s = setup();
    addDrift(s);
    await reconcile(s.deps, { pageSize: 3, maxPages: Number.POSITIVE_INFINITY });
    // What the workers would do with the published jobs.
    for (const p of s.publisher.published) {
      if (p.target === "keyword") s.keyword.docs.set(p.job.messageId, p.job.version);
      else s.vector.vectors.set(p.job.messageId, { version: p.job.version, model: MODEL });
    }
    const again = await reconcile(s.deps, { pageSize: 3, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(again)).toBe(0);
  });

  it("bounded runs resume from the stored cursor and add up to one full pass", async () => {
    const s = setup(50);
    for (const id of [2, 17, 33, 49]) s.keyword.docs.delete(id);
    for (const id of [1, 25, 50]) s.vector.vectors.delete(id);
    for (let id = 100; id < 110; id++) s.vector.vectors.set(id, { version: 1, model: MODEL });
    const runs: ReconcileReport[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await reconcile(s.deps, { pageSize: 5, maxPages: 4 });
      runs.push(r);
      expect(r.pagesRead).toBeLessThanOrEqual(4);
      if (r.passComplete) break;
    }
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.at(-1)?.passComplete).toBe(true);
    expect(runs.slice(0, -1).every((r) => !r.passComplete)).toBe(true);
    const sum = (f: (r: (typeof runs)[number]) => number) => runs.reduce((n, r) => n + f(r), 0);
    expect(sum((r) => r.keyword.missing)).toBe(4);
    expect(sum((r) => r.vector.missing)).toBe(3);
    expect(sum((r) => r.vector.orphan)).toBe(10);
    expect(s.vector.vectors.size).toBe(47);
    // The next run starts a new pass.
    const next = await reconcile(s.deps, { pageSize: 5, maxPages: 1 });
    expect(next.pass).toBe(runs.at(-1)!.pass + 1);
  });

  it("finds every orphan in one pass although deleting them shifts the storage order", async () => {
    const s = setup(10);
    const vectors = new FakeVector();
    // Orphans interleaved with live vectors across several pages.
    for (let id = 1; id <= 10; id++) {
      vectors.vectors.set(1000 + id, { version: 1, model: MODEL });
      vectors.vectors.set(id, { version: 2, model: MODEL });
    }
    const r = await reconcile(
      { ...s.deps, vectorIndex: vectors },
      { pageSize: 3, maxPages: Number.POSITIVE_INFINITY },
    );
    expect(r.vector.orphan).toBe(10);
    expect(vectors.vectors.size).toBe(10);
  });

  it("skips the run while another holds the lease", async () => {
    const s = setup(3);
    s.store.lease = "someone-else";
    const r = await reconcile(s.deps, {});
    expect(r.skipped).toMatch(/lease/);
    expect(r.pagesRead).toBe(0);
  });

  it("promotes a new model's collection only after a pass that found nothing to re-embed", async () => {
    const s = setup(6);
    let promoted = 0;
    const deps: ReconcileDeps = {
      ...s.deps,
      vectorIndex: new FakeVector(), // the new model's collection starts empty
      vectorModel: "m2",
      vectorCollection: "c__m2",
      vectorSwitch: { active: "c", write: "c__m2", promote: async () => void promoted++ },
    };
    const first = await reconcile(deps, { pageSize: 4, maxPages: Number.POSITIVE_INFINITY });
    expect(first.vector.missing).toBe(6);
    expect(first.switchedTo).toBeUndefined();
    expect(promoted).toBe(0);
    for (let id = 1; id <= 6; id++)
      (deps.vectorIndex as FakeVector).vectors.set(id, { version: 2, model: "m2" });
    const second = await reconcile(deps, { pageSize: 4, maxPages: Number.POSITIVE_INFINITY });
    expect(driftTotal(second)).toBe(0);
    expect(second.switchedTo).toBe("c__m2");
    expect(promoted).toBe(1);
  });
});

describe("vector collections", () => {
  class Registry implements VectorCollectionRegistry {
    state: VectorCollectionState | null = null;
    async loadCollections() {
      return this.state;
    }
    async initCollections(initial: VectorCollectionState) {
      this.state ??= initial;
      return this.state;
    }
    async saveCollections(state: VectorCollectionState) {
      this.state = state;
    }
  }

  it("names a model's collection safely for Chroma", () => {
    expect(collectionNameFor("messages", "bedrock:amazon.titan-embed-text-v2:0:1024")).toBe(
      "messages__bedrock-amazon.titan-embed-text-v2-0-1024",
    );
    const long = collectionNameFor("m".repeat(50), "x".repeat(60));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(collectionNameFor("m".repeat(50), `${"x".repeat(59)}y`));
  });

  it("keeps the base collection for its model, writes a new model elsewhere, switches on promote", async () => {
    const registry = new Registry();
    const base = async () => ({ modelId: "m1", dimension: 4 });
    const first = await resolveVectorCollections({ registry, baseCollectionModel: base }, "msgs", {
      modelId: "m1",
      dimension: 4,
    });
    expect(first).toEqual({
      active: { name: "msgs", model: "m1", dimension: 4 },
      write: first.active,
      switching: false,
    });
    const changed = await resolveVectorCollections({ registry, baseCollectionModel: base }, "msgs", {
      modelId: "m2",
      dimension: 8,
    });
    expect(changed.switching).toBe(true);
    expect(changed.active.name).toBe("msgs");
    expect(changed.write).toEqual({ name: "msgs__m2", model: "m2", dimension: 8 });
    await promoteVectorCollection(registry, changed);
    const after = await resolveVectorCollections({ registry, baseCollectionModel: base }, "msgs", {
      modelId: "m2",
      dimension: 8,
    });
    expect(after).toMatchObject({ switching: false, active: { name: "msgs__m2" } });
    // Rolling back reuses the previous collection.
    const back = await resolveVectorCollections({ registry, baseCollectionModel: base }, "msgs", {
      modelId: "m1",
      dimension: 4,
    });
    expect(back.write.name).toBe("msgs");
  });
});
