import { driftTotal, type ReconcileReport } from "../../functions/core/reconcile";
import { closeClients } from "../../functions/shared/clients";
import { type Container, createContainer } from "../../functions/shared/container";
import { runReconcile } from "../../functions/shared/reconcile-runner";
import { parseFlags } from "../args";
import { createProgress, formatTable } from "../progress";

export const summary = "Find and repair drift between PostgreSQL and the indexes ([--dry-run])";

const HELP = `Usage: trisearch reconcile [--dry-run] [--max-pages N] [--page-size N] [--json]

Walks PostgreSQL and both indexes in message id order and classifies every id as missing,
stale (older version or another embedding model) or orphan. Missing and stale are re-enqueued
through the outbox (the running workers index them); orphans are deleted from the index.

  --dry-run       report only: change nothing (exit 1 when there is drift)
  --max-pages N   stop after N pages and keep the cursor, as the scheduled run does
                  (default: one full pass from the start)
  --page-size N   ids per page (default RECONCILE_PAGE_SIZE)
  --json          print the report as JSON`;

/** A full pass (or a bounded run) with a progress bar on stderr. */
export async function reconcileWithProgress(
  c: Container,
  opts: { dryRun: boolean; maxPages?: number; pageSize?: number; quiet?: boolean },
): Promise<ReconcileReport> {
  const bar = opts.quiet ? undefined : createProgress(opts.dryRun ? "checking" : "reconciling");
  const report = await runReconcile(c, {
    dryRun: opts.dryRun,
    ...(opts.maxPages ? { maxPages: opts.maxPages } : { maxPages: Number.POSITIVE_INFINITY, restart: true }),
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    onProgress: (p) => bar?.update(p.afterId, p.maxId, `ids, ${p.vectorsScanned} vectors scanned`),
  });
  bar?.finish(`${report.pagesRead} pages`);
  return report;
}

/** The drift summary: one row per index. */
export function driftTable(r: ReconcileReport): string {
  const row = (name: string, s: ReconcileReport["keyword"]) => ({
    index: name,
    checked: s.checked,
    missing: s.missing,
    stale: s.stale,
    orphan: s.orphan,
    enqueued: s.enqueued,
    removed: s.removed,
  });
  return formatTable([row("OpenSearch", r.keyword), row(`Chroma (${r.vector.collection})`, r.vector)]);
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {
      "dry-run": { type: "boolean" },
      "max-pages": { type: "string" },
      "page-size": { type: "string" },
      json: { type: "boolean" },
    },
    HELP,
  );
  if (!flags) return 0;
  const num = (k: string) => {
    const v = flags.values[k];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be a positive integer`);
    return n;
  };
  const dryRun = Boolean(flags.values["dry-run"]);
  try {
    const c = createContainer();
    const maxPages = num("max-pages");
    const pageSize = num("page-size");
    const report = await reconcileWithProgress(c, {
      dryRun,
      ...(maxPages ? { maxPages } : {}),
      ...(pageSize ? { pageSize } : {}),
      quiet: Boolean(flags.values.json),
    });
    const drift = driftTotal(report);
    if (flags.values.json) console.log(JSON.stringify({ ...report, drift }));
    else {
      if (report.skipped) {
        console.log(`Skipped: ${report.skipped}.`);
        return 1;
      }
      console.log(driftTable(report));
      if (report.vector.staleModel > 0)
        console.log(`(${report.vector.staleModel} vectors are from another embedding model)`);
      console.log(
        `${dryRun ? "Dry run" : "Reconciled"}: pass ${report.pass}${report.passComplete ? " complete" : " (continues next run)"}, ` +
          `${report.pagesRead} pages, ${(report.durationMs / 1000).toFixed(1)} s, drift ${drift}` +
          (dryRun ? "" : `, outbox sent ${report.outbox.sent}`) +
          (report.switchedTo ? `; search switched to ${report.switchedTo}` : ""),
      );
    }
    if (report.skipped) return 1;
    return dryRun && drift > 0 ? 1 : 0;
  } finally {
    await closeClients();
  }
}
