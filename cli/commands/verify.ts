import { driftTotal, type ReconcileReport } from "../../functions/core/reconcile";
import { closeClients } from "../../functions/shared/clients";
import { createContainer } from "../../functions/shared/container";
import { parseFlags } from "../args";
import { formatTable } from "../progress";
import { driftTable, reconcileWithProgress } from "./reconcile";

export const summary =
  "Counts in PostgreSQL, OpenSearch and Chroma side by side, plus a drift check (exit 1 on drift)";

const HELP = `Usage: trisearch verify [--counts-only] [--json]

Prints the live message count in each store and the unsent outbox rows, then runs a dry-run
reconcile (nothing is changed) and prints the drift per index: missing, stale, orphan.
Exits 1 when the counts differ, there is any drift, or the OpenSearch index has a mapping
Trisearch did not make (reconcile rebuilds it).

  --counts-only   skip the drift walk (counts only, O(1))
  --json          one JSON object on stdout`;

export interface StoreCounts {
  readonly postgres: number;
  readonly opensearch: number;
  readonly chroma: number;
  readonly outboxPending: number;
}

/** Counts per store; Chroma's is the collection the configured embedding model writes to. */
export async function storeCounts(c = createContainer()): Promise<StoreCounts> {
  const keyword = c.keywordIndex();
  // A missing index (deleted by hand) counts as empty; a read-only check never creates it.
  const exists = await keyword.exists();
  if (exists) await keyword.refresh();
  const vectors = await c.collections.writeIndex();
  const [postgres, opensearch, chroma, outboxPending] = await Promise.all([
    c.store.countLive(),
    exists ? keyword.count() : 0,
    vectors.exists().then((yes) => (yes ? vectors.count() : 0)),
    c.store.countPending(),
  ]);
  return { postgres, opensearch, chroma, outboxPending };
}

export function inSync(c: StoreCounts): boolean {
  return c.postgres === c.opensearch && c.postgres === c.chroma && c.outboxPending === 0;
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(args, { json: { type: "boolean" }, "counts-only": { type: "boolean" } }, HELP);
  if (!flags) return 0;
  const json = Boolean(flags.values.json);
  try {
    const c = createContainer();
    const counts = await storeCounts(c);
    const collections = await c.collections.collections({ fresh: true });
    // A mapping Trisearch did not make: BM25 without its analysis until reconcile rebuilds it.
    const opensearchMapping = await c.keywordIndex().mappingState();
    const report: ReconcileReport | undefined = flags.values["counts-only"]
      ? undefined
      : await reconcileWithProgress(c, { dryRun: true, quiet: json });
    const drift = report ? driftTotal(report) : 0;
    const ok = inSync(counts) && drift === 0 && !collections.switching && opensearchMapping === "product";
    if (json) {
      console.log(
        JSON.stringify({
          ...counts,
          inSync: ok,
          opensearchMapping,
          ...(report ? { drift, report } : {}),
          vectorCollections: collections,
        }),
      );
    } else {
      console.log(
        formatTable([
          { store: "PostgreSQL (live messages)", count: counts.postgres },
          { store: "OpenSearch", count: counts.opensearch },
          {
            store: `${c.config.VECTOR_STORE === "opensearch" ? "OpenSearch k-NN" : "Chroma"} (${collections.write.name})`,
            count: counts.chroma,
          },
          { store: "Outbox (unsent)", count: counts.outboxPending },
        ]),
      );
      if (report) console.log(`\n${driftTable(report)}`);
      if (opensearchMapping === "outdated") {
        console.log(
          `\nThe OpenSearch index ${c.config.OPENSEARCH_INDEX} was built under another keyword context policy (CONTEXT_KEYWORD): the next \`trisearch reconcile\` rebuilds it.`,
        );
      }
      if (opensearchMapping === "foreign") {
        console.log(
          `\nThe OpenSearch index ${c.config.OPENSEARCH_INDEX} has a mapping Trisearch did not make: the next \`trisearch reconcile\` rebuilds it.`,
        );
      }
      if (collections.switching) {
        console.log(
          `\nEmbedding model switch in progress: search reads ${collections.active.name} (${collections.active.model}) ` +
            `until ${collections.write.name} (${collections.write.model}) is complete.`,
        );
      }
      console.log(
        ok
          ? "\nIn sync."
          : "\nDRIFT: the stores differ (run `trisearch reconcile`, or wait for the workers and the scheduled reconcile).",
      );
    }
    return ok ? 0 : 1;
  } finally {
    await closeClients();
  }
}
