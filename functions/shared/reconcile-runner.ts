import type {
  KeywordIndexUpkeep,
  ReconcilableKeywordIndex,
  ReconcilableVectorIndex,
  VectorCollection,
} from "../core/ports";
import { type ReconcileOptions, type ReconcileReport, reconcile } from "../core/reconcile";
import type { Container } from "./container";
import { logger } from "./logger";

/**
 * Wires the reconcile use case for a container (handler, CLI and tests share it), logs the
 * report as one structured line and returns it.
 */
export async function runReconcile(c: Container, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
  const cfg = c.config;
  const store = c.reconcileStore;
  const keywordIndex = await keywordIndexForRun(c.keywordIndex(), opts.dryRun ?? false);
  const collections = await c.collections.collections({ fresh: true });
  const vectorIndex = await vectorIndexForRun(
    c.collections.indexFor(collections.write),
    opts.dryRun ?? false,
  );
  const report = await reconcile(
    {
      store,
      outbox: c.store,
      publisher: c.publisher,
      warn: c.warn,
      keywordIndex,
      vectorIndex,
      vectorModel: collections.write.model,
      vectorCollection: collections.write.name,
      ...(collections.switching
        ? {
            vectorSwitch: {
              active: collections.active.name,
              write: collections.write.name,
              promote: () => c.collections.promote(collections),
            },
          }
        : {}),
    },
    { pageSize: cfg.RECONCILE_PAGE_SIZE, maxPages: cfg.RECONCILE_MAX_PAGES, ...opts },
  );
  logReport(report, report.switchedTo ?? collections.active.name);
  return report;
}

/**
 * An index deleted by hand: a real run recreates it with its mapping (otherwise the workers'
 * bulk writes would auto-create one with a dynamic mapping), a dry run sees it as empty. An index
 * with a mapping the adapter did not make (see mappingState) is rebuilt the same way by a real run,
 * and the walk then re-enqueues every message; a dry run only logs it.
 */
async function keywordIndexForRun(
  keyword: ReconcilableKeywordIndex & KeywordIndexUpkeep,
  dryRun: boolean,
): Promise<ReconcilableKeywordIndex> {
  const state = await keyword.mappingState();
  const logFields = { index: keyword.indexName };
  if (!dryRun && state !== "product") {
    logger.warn(
      state === "missing"
        ? "keyword index missing: recreating it"
        : state === "outdated"
          ? "keyword index was built under another keyword context policy: rebuilding it"
          : "keyword index has a mapping Trisearch did not create: rebuilding it",
      logFields,
    );
    await keyword.rebuildIndex();
    return keyword;
  }
  if (state === "foreign" || state === "outdated")
    logger.warn(
      state === "outdated"
        ? "keyword index was built under another keyword context policy: a real reconcile rebuilds it"
        : "keyword index has a mapping Trisearch did not create: a real reconcile rebuilds it",
      logFields,
    );
  if (state !== "missing") {
    // The walk uses search (near-real-time): make writes of the last second visible first, or
    // they would look stale and be repaired twice.
    await keyword.refresh();
    return keyword;
  }
  return {
    upsert: (rows) => keyword.upsert(rows),
    remove: (jobs) => keyword.remove(jobs),
    count: async () => 0,
    listVersions: async () => [],
  };
}

/** A collection deleted by hand (or never created): a real run recreates it, a dry run sees it as empty. */
async function vectorIndexForRun(index: VectorCollection, dryRun: boolean): Promise<ReconcilableVectorIndex> {
  if (!dryRun || (await index.exists())) return index;
  return {
    upsert: (rows) => index.upsert(rows),
    remove: (ids) => index.remove(ids),
    query: (embedding, filters, limit) => index.query(embedding, filters, limit),
    count: async () => 0,
    listVersions: async () => [],
    getVersions: async () => new Map(),
  };
}

function logReport(report: ReconcileReport, activeCollection: string): void {
  // Dry runs (verify) are operator checks; the schedule's metrics are recorded by its handler.
  if (report.dryRun) logger.debug("reconcile (dry run)", { report, activeCollection });
  else logger.info("reconcile", { report, activeCollection });
}
