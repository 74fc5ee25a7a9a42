import type { StoredMessage } from "../../functions/core/model";
import type { VectorCollection } from "../../functions/core/ports";
import { withMentionsRendered } from "../../functions/core/slack/slack-mentions";
import { closeClients } from "../../functions/shared/clients";
import { type Container, createContainer } from "../../functions/shared/container";
import { parseFlags } from "../args";
import { createProgress, formatTable } from "../progress";

export const summary = "Rebuild an index from PostgreSQL: --target keyword|vector|all";

const HELP = `Usage: trisearch reindex --target keyword|vector|all [--recreate] [--batch N]

Reads every message from PostgreSQL in id order and writes it straight into the index
(OpenSearch bulk; Chroma after embedding with the configured model). It does not go through
the queues, so it works without running workers. Writes are versioned and idempotent: running
it on a healthy index changes nothing; deleted messages are removed.

  --target     keyword (OpenSearch), vector (Chroma) or all
  --recreate   delete and recreate the index/collection first (stop the workers meanwhile)
  --batch N    messages per batch (default 256)`;

export type ReindexTarget = "keyword" | "vector" | "all";

export interface ReindexStats {
  target: "keyword" | "vector";
  rows: number;
  written: number;
  failed: number;
  seconds: number;
}

/** Rebuilds from PostgreSQL in batches; `onBatch` reports progress (last id, max id). */
export async function reindex(
  c: Container,
  opts: {
    target: ReindexTarget;
    recreate?: boolean;
    batch?: number;
    onBatch?: (afterId: number, maxId: number) => void;
  },
): Promise<ReindexStats[]> {
  const store = c.reconcileStore;
  const batch = opts.batch ?? 256;
  const wantKeyword = opts.target !== "vector";
  const wantVector = opts.target !== "keyword";
  const keyword = wantKeyword ? c.keywordIndex() : undefined;
  const vector = wantVector ? await c.collections.writeIndex() : undefined;
  if (opts.recreate) {
    if (keyword) {
      await keyword.rebuildIndex();
    }
    if (vector) {
      await vector.deleteCollection();
      await vector.ensureCollection();
    }
  }
  const stats = {
    keyword: { target: "keyword" as const, rows: 0, written: 0, failed: 0, seconds: 0, ms: 0 },
    vector: { target: "vector" as const, rows: 0, written: 0, failed: 0, seconds: 0, ms: 0 },
  };
  const maxId = await store.maxId();
  let afterId = 0;
  for (;;) {
    const rows = await store.listRows(afterId, batch);
    if (rows.length === 0) break;
    afterId = rows.at(-1)!.id;
    if (keyword) {
      const t = Date.now();
      // The same documents as the keyword worker writes: mentions as names (@alice, #general).
      const outcomes = await keyword.upsert(await withMentionsRendered(c.directory, rows));
      const version = new Map(rows.map((r) => [r.id, r.version]));
      const ok = outcomes.filter((o) => o.ok);
      await c.store.recordApplied(
        "keyword",
        ok.map((o) => ({ messageId: o.messageId, version: version.get(o.messageId) ?? 0 })),
      );
      stats.keyword.rows += rows.length;
      stats.keyword.written += ok.length;
      stats.keyword.failed += outcomes.length - ok.length;
      stats.keyword.ms += Date.now() - t;
    }
    if (vector) {
      const t = Date.now();
      await reindexVectors(c, vector, rows);
      stats.vector.rows += rows.length;
      stats.vector.written += rows.length;
      stats.vector.ms += Date.now() - t;
    }
    opts.onBatch?.(afterId, maxId);
  }
  const out: ReindexStats[] = [];
  for (const s of [stats.keyword, stats.vector]) {
    if ((s.target === "keyword" && !keyword) || (s.target === "vector" && !vector)) continue;
    const { ms, ...rest } = s;
    out.push({ ...rest, seconds: Number((ms / 1000).toFixed(1)) });
  }
  return out;
}

async function reindexVectors(
  c: Container,
  vector: VectorCollection,
  rows: readonly StoredMessage[],
): Promise<void> {
  const live = rows.filter((r) => !r.deletedAt);
  const embeddings = live.length > 0 ? await c.embedder.embed(live.map((r) => r.content)) : [];
  const writes = live.map((message, i) => ({ message, embedding: embeddings[i] ?? [] }));
  // Deleted rows go through upsert too: the adapter removes their vectors.
  const deletes = rows.filter((r) => r.deletedAt).map((message) => ({ message, embedding: [] as number[] }));
  await vector.upsert([...writes, ...deletes]);
  await c.store.recordApplied("vector", [
    ...live.map((m) => ({
      messageId: m.id,
      version: m.version,
      embeddingId: `msg_${m.id}`,
      model: c.embedder.modelId,
    })),
    ...rows
      .filter((r) => r.deletedAt)
      .map((m) => ({ messageId: m.id, version: m.version, embeddingId: null })),
  ]);
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    { target: { type: "string" }, recreate: { type: "boolean" }, batch: { type: "string" } },
    HELP,
  );
  if (!flags) return 0;
  const target = flags.values.target;
  if (target !== "keyword" && target !== "vector" && target !== "all") {
    console.error(`--target must be keyword, vector or all.\n\n${HELP}`);
    return 2;
  }
  const batch = flags.values.batch === undefined ? undefined : Number(flags.values.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) {
    console.error("--batch must be a positive integer");
    return 2;
  }
  try {
    const c = createContainer();
    const bar = createProgress(`reindex ${target}`);
    const stats = await reindex(c, {
      target,
      recreate: Boolean(flags.values.recreate),
      ...(batch ? { batch } : {}),
      onBatch: (afterId, maxId) => bar.update(afterId, maxId),
    });
    bar.finish();
    console.log(
      formatTable(
        stats.map((s) => ({
          index: s.target,
          rows: s.rows,
          written: s.written,
          failed: s.failed,
          seconds: s.seconds,
          "rows/s": s.seconds > 0 ? Math.round(s.rows / s.seconds) : s.rows,
        })),
      ),
    );
    return stats.some((s) => s.failed > 0) ? 1 : 0;
  } finally {
    await closeClients();
  }
}
