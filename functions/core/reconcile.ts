import type { IndexTarget, StoredMessage } from "./model";
import { publishCommitted, relayOutbox } from "./outbox-relay";
import type {
  IndexedVersion,
  JobPublisher,
  OutboxStore,
  ReconcilableKeywordIndex,
  ReconcilableVectorIndex,
} from "./ports";

/**
 * Reconciliation: PostgreSQL is the truth; each index is compared with it and healed.
 *
 * - Missing (live row, no index entry) and stale (index version behind the row, or a vector from
 *   another model) are repaired by writing outbox rows, so repairs take the normal
 *   outbox -> relay -> queue -> worker path with its retries, DLQs and versioned writes.
 * - Orphans (index entry for a row that is deleted or absent) are deleted from the index directly.
 *
 * Work per run is bounded by a page budget and resumes from a cursor kept in PostgreSQL.
 * How each index is walked:
 * - PostgreSQL and OpenSearch are merge-joined in message id order (PK index scan /
 *   `search_after` on message_id): one page of each per step, covering ids up to the smaller of
 *   the two pages' last ids, so every step costs two bounded reads whatever the drift.
 * - Chroma cannot list in id order, so for the same step its entries are fetched by id list
 *   (`get(ids)`: finds missing and stale), and orphans (ids PostgreSQL has never heard of) are
 *   found by a separate offset scan of the collection in storage order, checked against
 *   PostgreSQL in batches. Both stay O(page) per step, so a run costs the same at 1M messages.
 */

/** A row as reconciliation compares it. */
export interface RowVersion {
  readonly id: number;
  readonly version: number;
  readonly deleted: boolean;
}

export interface RepairJob {
  readonly messageId: number;
  readonly version: number;
  readonly target: IndexTarget;
}

/** The PostgreSQL side of reconciliation. */
export interface ReconcileStore {
  /** Rows (live and soft-deleted) with id > afterId, ascending, at most `limit`. */
  listRowVersions(afterId: number, limit: number): Promise<RowVersion[]>;
  /** The given rows; ids with no row are absent from the map. */
  rowVersions(ids: readonly number[]): Promise<Map<number, RowVersion>>;
  /** Writes upsert jobs to the outbox, skipping ones already pending; returns the rows written. */
  enqueueRepairs(jobs: readonly RepairJob[]): Promise<{ outboxId: number; target: IndexTarget }[]>;
  /** Highest message id (0 when empty): the progress denominator. */
  maxId(): Promise<number>;
  loadCursor(name: string): Promise<unknown>;
  saveCursor(name: string, cursor: ReconcileCursor): Promise<void>;
  /** A time-bounded lease, so two runs (schedule and CLI) never share one cursor. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
}

/** Full rows (live and soft-deleted) with id > afterId, ascending, at most `limit`: what a reindex walks. */
export interface RowPages {
  listRows(afterId: number, limit: number): Promise<StoredMessage[]>;
}

/** Where a run stopped; a pass is complete when both walks are done. */
export interface ReconcileCursor {
  readonly pass: number;
  /** Id walk (PostgreSQL x OpenSearch x Chroma by ids): last id covered. */
  readonly afterId: number;
  readonly idsDone: boolean;
  /** Chroma storage-order scan for orphans. */
  readonly vectorOffset: number;
  readonly vectorsDone: boolean;
  /** The collection this pass checks; a change mid-pass makes the pass unusable for a switch. */
  readonly vectorCollection: string;
  /** Vector missing + stale seen so far in this pass (a clean pass allows a model switch). */
  readonly passVectorDrift: number;
}

type DriftClass = "missing" | "stale" | "orphan";

interface StoreReport {
  /** Entries compared. */
  checked: number;
  missing: number;
  stale: number;
  orphan: number;
  /** Repair jobs written to the outbox (missing + stale, minus ones already pending). */
  enqueued: number;
  /** Orphans deleted from the index. */
  removed: number;
}

interface VectorStoreReport extends StoreReport {
  /** Part of `stale`: vectors whose model is not the configured one. */
  staleModel: number;
  collection: string;
}

export interface ReconcileReport {
  dryRun: boolean;
  /** Set when the run did nothing because another run holds the lease. */
  skipped?: string;
  pass: number;
  pagesRead: number;
  /** The run reached the end of a full pass (the next run starts a new one). */
  passComplete: boolean;
  keyword: StoreReport;
  vector: VectorStoreReport;
  outbox: { sent: number; failed: number };
  /** Set when this run switched search over to the configured model's collection. */
  switchedTo?: string;
  durationMs: number;
}

interface ReconcileProgress {
  readonly phase: "ids" | "vectors";
  readonly afterId: number;
  readonly maxId: number;
  readonly vectorsScanned: number;
  readonly pagesRead: number;
}

/** Vector collection switching, when the configured model is not the active collection's. */
interface VectorSwitch {
  readonly active: string;
  readonly write: string;
  /** Makes `write` active; called after a full pass over it found nothing missing or stale. */
  promote(): Promise<void>;
}

export interface ReconcileDeps {
  readonly store: ReconcileStore;
  readonly outbox: OutboxStore;
  readonly publisher: JobPublisher;
  readonly keywordIndex: ReconcilableKeywordIndex;
  /** The collection the configured model writes to. */
  readonly vectorIndex: ReconcilableVectorIndex;
  readonly vectorModel: string;
  readonly vectorCollection: string;
  readonly vectorSwitch?: VectorSwitch;
  readonly now?: () => number;
  readonly warn?: (message: string, err: unknown) => void;
}

export interface ReconcileOptions {
  /** Classify and report only: no repairs, no deletes, no cursor or outbox changes. */
  readonly dryRun?: boolean;
  readonly pageSize?: number;
  /** Page budget for this run (each step of either walk costs one); Infinity = finish the pass. */
  readonly maxPages?: number;
  /** Ignore the stored cursor and start a new pass (the CLI's full run, every dry run). */
  readonly restart?: boolean;
  /** Lease owner id (distinguishes concurrent runs); the lease lasts `leaseMs`. */
  readonly owner?: string;
  readonly leaseMs?: number;
  readonly onProgress?: (p: ReconcileProgress) => void;
}

const CURSOR_NAME = "reconcile";

const emptyStore = (): StoreReport => ({
  checked: 0,
  missing: 0,
  stale: 0,
  orphan: 0,
  enqueued: 0,
  removed: 0,
});

function freshCursor(pass: number, vectorCollection: string): ReconcileCursor {
  return {
    pass,
    afterId: 0,
    idsDone: false,
    vectorOffset: 0,
    vectorsDone: false,
    vectorCollection,
    passVectorDrift: 0,
  };
}

/** The stored cursor, or null when it is missing or not a cursor (then a new pass starts). */
function parseCursor(value: unknown): ReconcileCursor | null {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  const num = (k: string) => (typeof v[k] === "number" && Number.isFinite(v[k]) ? (v[k] as number) : null);
  const pass = num("pass");
  const afterId = num("afterId");
  const vectorOffset = num("vectorOffset");
  const passVectorDrift = num("passVectorDrift");
  if (pass === null || afterId === null || vectorOffset === null || passVectorDrift === null) return null;
  if (typeof v.idsDone !== "boolean" || typeof v.vectorsDone !== "boolean") return null;
  if (typeof v.vectorCollection !== "string") return null;
  return {
    pass,
    afterId,
    idsDone: v.idsDone,
    vectorOffset,
    vectorsDone: v.vectorsDone,
    vectorCollection: v.vectorCollection,
    passVectorDrift,
  };
}

/** Total drift in a report (what `verify` fails on). */
export function driftTotal(r: Pick<ReconcileReport, "keyword" | "vector">): number {
  return (
    r.keyword.missing +
    r.keyword.stale +
    r.keyword.orphan +
    r.vector.missing +
    r.vector.stale +
    r.vector.orphan
  );
}

export async function reconcile(deps: ReconcileDeps, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const dryRun = opts.dryRun ?? false;
  const pageSize = opts.pageSize ?? 1000;
  const maxPages = opts.maxPages ?? 50;
  const owner = opts.owner ?? `reconcile-${started}-${Math.random().toString(36).slice(2, 8)}`;
  const report: ReconcileReport = {
    dryRun,
    pass: 0,
    pagesRead: 0,
    passComplete: false,
    keyword: emptyStore(),
    vector: { ...emptyStore(), staleModel: 0, collection: deps.vectorCollection },
    outbox: { sent: 0, failed: 0 },
    durationMs: 0,
  };

  // Dry runs write nothing, so they need no lease and may run beside a real run.
  if (!dryRun && !(await deps.store.acquireLease(CURSOR_NAME, owner, opts.leaseMs ?? 10 * 60_000))) {
    report.skipped = "another reconcile run holds the lease";
    report.durationMs = now() - started;
    return report;
  }
  try {
    const stored = opts.restart || dryRun ? null : parseCursor(await deps.store.loadCursor(CURSOR_NAME));
    let cursor: ReconcileCursor =
      stored && !(stored.idsDone && stored.vectorsDone)
        ? stored
        : freshCursor((stored?.pass ?? 0) + 1, deps.vectorCollection);
    // The collection to check moved (model changed) mid-pass: this pass cannot prove it complete.
    if (cursor.vectorCollection !== deps.vectorCollection) {
      cursor = {
        ...cursor,
        vectorCollection: deps.vectorCollection,
        passVectorDrift: cursor.passVectorDrift + 1,
      };
    }
    report.pass = cursor.pass;
    const maxId = await deps.store.maxId();
    const progress = (phase: ReconcileProgress["phase"]) =>
      opts.onProgress?.({
        phase,
        afterId: cursor.idsDone ? maxId : cursor.afterId,
        maxId,
        vectorsScanned: cursor.vectorOffset,
        pagesRead: report.pagesRead,
      });

    while (report.pagesRead < maxPages && !(cursor.idsDone && cursor.vectorsDone)) {
      if (!cursor.idsDone) {
        const step = await idStep(deps, report, cursor.afterId, pageSize, dryRun);
        report.pagesRead++;
        cursor = {
          ...cursor,
          afterId: step.done ? 0 : step.hi,
          idsDone: step.done,
          passVectorDrift: cursor.passVectorDrift + step.vectorDrift,
        };
        progress("ids");
      }
      if (report.pagesRead < maxPages && !cursor.vectorsDone) {
        const step = await vectorScanStep(deps, report, cursor.vectorOffset, pageSize, dryRun);
        report.pagesRead++;
        cursor = { ...cursor, vectorOffset: step.done ? 0 : step.nextOffset, vectorsDone: step.done };
        progress("vectors");
      }
    }
    report.passComplete = cursor.idsDone && cursor.vectorsDone;

    if (!dryRun) {
      // Promote only after a whole pass over the new collection found nothing to re-embed.
      if (report.passComplete && deps.vectorSwitch && cursor.passVectorDrift === 0) {
        await deps.vectorSwitch.promote();
        report.switchedTo = deps.vectorSwitch.write;
      }
      await deps.store.saveCursor(CURSOR_NAME, cursor);
      // Sweep: whatever the fast path or earlier runs left unsent.
      const swept = await relayOutbox({ outbox: deps.outbox, publisher: deps.publisher });
      report.outbox.sent += swept.sent;
      report.outbox.failed += swept.failed;
    }
  } finally {
    if (!dryRun) await deps.store.releaseLease(CURSOR_NAME, owner);
  }
  report.durationMs = now() - started;
  return report;
}

/** One merge step of PostgreSQL and OpenSearch in id order, plus Chroma by id list. */
async function idStep(
  deps: ReconcileDeps,
  report: ReconcileReport,
  afterId: number,
  pageSize: number,
  dryRun: boolean,
): Promise<{ hi: number; done: boolean; vectorDrift: number }> {
  const [rowsPage, docsPage] = await Promise.all([
    deps.store.listRowVersions(afterId, pageSize),
    deps.keywordIndex.listVersions(afterId, pageSize),
  ]);
  // A full page may end anywhere; only ids up to the smaller last id are known on both sides.
  const rowsEnd = rowsPage.length === pageSize ? (rowsPage.at(-1)?.id ?? Infinity) : Infinity;
  const docsEnd = docsPage.length === pageSize ? (docsPage.at(-1)?.messageId ?? Infinity) : Infinity;
  const hi = Math.min(rowsEnd, docsEnd);
  const rows = rowsPage.filter((r) => r.id <= hi);
  const docs = docsPage.filter((d) => d.messageId <= hi);

  const repairs: RepairJob[] = [];
  const keywordOrphans: { messageId: number; version: number }[] = [];
  const docById = new Map(docs.map((d) => [d.messageId, d]));
  const rowIds = new Set(rows.map((r) => r.id));
  for (const row of rows) {
    const doc = docById.get(row.id);
    const kind = classify(row, doc);
    if (doc || !row.deleted) report.keyword.checked++;
    if (!kind) continue;
    report.keyword[kind]++;
    if (kind === "orphan")
      keywordOrphans.push({ messageId: row.id, version: Math.max(row.version, (doc?.version ?? 0) + 1) });
    else repairs.push({ messageId: row.id, version: row.version, target: "keyword" });
  }
  for (const doc of docs) {
    if (rowIds.has(doc.messageId)) continue;
    report.keyword.checked++;
    report.keyword.orphan++;
    // External versioning: the delete must carry a version above the document's.
    keywordOrphans.push({ messageId: doc.messageId, version: doc.version + 1 });
  }

  const vectors = rows.length > 0 ? await deps.vectorIndex.getVersions(rows.map((r) => r.id)) : new Map();
  const vectorOrphans: number[] = [];
  let vectorDrift = 0;
  for (const row of rows) {
    const vec: IndexedVersion | undefined = vectors.get(row.id);
    let kind = classify(row, vec);
    if (vec || !row.deleted) report.vector.checked++;
    // Same version but another model: the vector must be re-embedded.
    if (!kind && vec && !row.deleted && vec.model !== deps.vectorModel) {
      kind = "stale";
      report.vector.staleModel++;
    }
    if (!kind) continue;
    report.vector[kind]++;
    if (kind === "orphan") vectorOrphans.push(row.id);
    else {
      vectorDrift++;
      repairs.push({ messageId: row.id, version: row.version, target: "vector" });
    }
  }

  if (!dryRun) {
    if (repairs.length > 0) {
      // Repairs already pending in the outbox are not written again, nor counted as enqueued.
      const written = await deps.store.enqueueRepairs(repairs);
      report.keyword.enqueued += written.filter((w) => w.target === "keyword").length;
      report.vector.enqueued += written.filter((w) => w.target === "vector").length;
      // Fast path, as after an ingest commit; the end-of-run sweep catches what this misses.
      const sent = await publishCommitted(
        deps,
        written.map((w) => w.outboxId),
      );
      report.outbox.sent += sent.sent;
      report.outbox.failed += sent.failed;
    }
    if (keywordOrphans.length > 0) {
      const outcomes = await deps.keywordIndex.remove(keywordOrphans);
      report.keyword.removed += outcomes.filter((o) => o.ok).length;
    }
    if (vectorOrphans.length > 0) {
      await deps.vectorIndex.remove(vectorOrphans);
      report.vector.removed += vectorOrphans.length;
    }
  }
  return { hi, done: hi === Infinity, vectorDrift };
}

/**
 * One page of the Chroma collection in storage order: entries whose message PostgreSQL has no
 * row for are orphans (soft-deleted rows are the id walk's, so nothing is counted twice).
 */
async function vectorScanStep(
  deps: ReconcileDeps,
  report: ReconcileReport,
  offset: number,
  pageSize: number,
  dryRun: boolean,
): Promise<{ nextOffset: number; done: boolean }> {
  const page = await deps.vectorIndex.listVersions(offset, pageSize);
  if (page.length === 0) return { nextOffset: offset, done: true };
  const rows = await deps.store.rowVersions(page.map((v) => v.messageId));
  const orphans = page.filter((v) => !rows.has(v.messageId)).map((v) => v.messageId);
  report.vector.orphan += orphans.length;
  report.vector.checked += orphans.length;
  if (!dryRun && orphans.length > 0) {
    await deps.vectorIndex.remove(orphans);
    report.vector.removed += orphans.length;
  }
  // Deleting shifts later entries down by as many places, so the next page starts that much earlier.
  const removed = dryRun ? 0 : orphans.length;
  return { nextOffset: offset + page.length - removed, done: page.length < pageSize };
}

function classify(row: RowVersion, entry: IndexedVersion | undefined): DriftClass | null {
  if (row.deleted) return entry ? "orphan" : null;
  if (!entry) return "missing";
  return entry.version < row.version ? "stale" : null;
}
