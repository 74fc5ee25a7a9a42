import { closeClients } from "../../functions/shared/clients";
import { createContainer } from "../../functions/shared/container";
import { parseFlags } from "../args";

export const summary = "Counts in PostgreSQL, OpenSearch and Chroma side by side (exit 1 on drift)";

export interface StoreCounts {
  readonly postgres: number;
  readonly opensearch: number;
  readonly chroma: number;
  readonly outboxPending: number;
}

export async function storeCounts(c = createContainer()): Promise<StoreCounts> {
  const keyword = await c.keywordIndex();
  await keyword.refresh();
  const [postgres, opensearch, chroma, outboxPending] = await Promise.all([
    c.store.countLive(),
    keyword.count(),
    c.vectorIndex().count(),
    c.store.countPending(),
  ]);
  return { postgres, opensearch, chroma, outboxPending };
}

export function inSync(c: StoreCounts): boolean {
  return c.postgres === c.opensearch && c.postgres === c.chroma && c.outboxPending === 0;
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    { json: { type: "boolean" } },
    "Usage: trisearch verify [--json]\n\nPrints the live message count in each store and the unsent outbox rows.\nExits 1 when the counts differ.",
  );
  if (!flags) return 0;
  try {
    const counts = await storeCounts();
    const ok = inSync(counts);
    if (flags.values.json) console.log(JSON.stringify({ ...counts, inSync: ok }));
    else {
      console.table([
        { store: "PostgreSQL (live messages)", count: counts.postgres },
        { store: "OpenSearch", count: counts.opensearch },
        { store: "Chroma", count: counts.chroma },
        { store: "Outbox (unsent)", count: counts.outboxPending },
      ]);
      console.log(
        ok ? "In sync." : "DRIFT: the stores differ (run `trisearch reconcile`, or wait for the workers).",
      );
    }
    return ok ? 0 : 1;
  } finally {
    await closeClients();
  }
}
