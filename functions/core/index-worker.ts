import { toAppError } from "./errors";
import { embeddingTexts, type IndexContext, keywordContexts } from "./message-context";
import type { IndexJob, StoredMessage } from "./model";
import type { Embedder, KeywordIndex, MessageStore, VectorIndex } from "./ports";
import { messageFacets } from "./search/message-features";

/** One claim-check job and the queue record that carried it (a record may carry several jobs). */
export interface JobRecord {
  readonly recordId: string;
  readonly job: IndexJob;
}

export interface WorkerResult {
  /** Record ids to report as `batchItemFailures`. */
  readonly failedRecordIds: string[];
  readonly applied: number;
  readonly errors: { messageId: number; error: string }[];
}

/** Jobs only say "message N changed"; what to write is decided by the row as it is now. */
interface Plan {
  readonly upserts: StoredMessage[];
  readonly deletes: { messageId: number; version: number }[];
  readonly recordsByMessage: Map<number, string[]>;
}

async function plan(store: MessageStore, records: readonly JobRecord[]): Promise<Plan> {
  const recordsByMessage = new Map<number, string[]>();
  const maxJobVersion = new Map<number, number>();
  for (const r of records) {
    recordsByMessage.set(r.job.messageId, [...(recordsByMessage.get(r.job.messageId) ?? []), r.recordId]);
    maxJobVersion.set(r.job.messageId, Math.max(maxJobVersion.get(r.job.messageId) ?? 0, r.job.version));
  }
  const rows = new Map((await store.getByIds([...recordsByMessage.keys()])).map((m) => [m.id, m]));
  const upserts: StoredMessage[] = [];
  const deletes: { messageId: number; version: number }[] = [];
  for (const [messageId, jobVersion] of maxJobVersion) {
    const row = rows.get(messageId);
    if (!row) deletes.push({ messageId, version: jobVersion });
    else if (row.deletedAt) deletes.push({ messageId, version: row.version });
    else upserts.push(row);
  }
  return { upserts, deletes, recordsByMessage };
}

function result(planned: Plan, failed: Map<number, string>, applied: number): WorkerResult {
  return {
    failedRecordIds: [...failed.keys()].flatMap((id) => planned.recordsByMessage.get(id) ?? []),
    applied,
    errors: [...failed].map(([messageId, error]) => ({ messageId, error })),
  };
}

/** Keyword indexer: current rows -> OpenSearch (external versions), applied versions -> Postgres. */
export async function applyKeywordJobs(
  deps: {
    store: MessageStore;
    keywordIndex: KeywordIndex;
    /** The text the index gets (mentions as names); PostgreSQL keeps the raw text. */
    renderContent?: (rows: StoredMessage[]) => Promise<StoredMessage[]>;
    context?: IndexContext;
  },
  records: readonly JobRecord[],
): Promise<WorkerResult> {
  const planned = await plan(deps.store, records);
  const documents =
    deps.renderContent && planned.upserts.length > 0
      ? await deps.renderContent(planned.upserts)
      : planned.upserts;
  const outcomes = [
    ...(documents.length > 0
      ? await deps.keywordIndex.upsert(
          documents,
          await keywordContexts(documents, deps.context),
          // From the stored text: rendering turns mention markup into names.
          new Map(planned.upserts.map((m) => [m.id, messageFacets(m)])),
        )
      : []),
    ...(planned.deletes.length > 0 ? await deps.keywordIndex.remove(planned.deletes) : []),
  ];
  const versions = new Map([
    ...planned.upserts.map((m) => [m.id, m.version] as const),
    ...planned.deletes.map((d) => [d.messageId, d.version] as const),
  ]);
  const failed = new Map<number, string>();
  const applied: { messageId: number; version: number }[] = [];
  for (const o of outcomes) {
    if (o.ok) applied.push({ messageId: o.messageId, version: versions.get(o.messageId) ?? 0 });
    else failed.set(o.messageId, o.error ?? "index write failed");
  }
  await deps.store.recordApplied("keyword", applied);
  return result(planned, failed, applied.length);
}

/** Embedder worker: current rows -> embeddings -> Chroma, applied versions -> Postgres. */
export async function applyVectorJobs(
  deps: { store: MessageStore; vectorIndex: VectorIndex; embedder: Embedder; context?: IndexContext },
  records: readonly JobRecord[],
): Promise<WorkerResult> {
  const planned = await plan(deps.store, records);
  const failed = new Map<number, string>();
  const applied: { messageId: number; version: number; embeddingId: string | null; model?: string }[] = [];

  if (planned.upserts.length > 0) {
    try {
      const vectors = await deps.embedder.embed(await embeddingTexts(planned.upserts, deps.context));
      const good: { message: StoredMessage; embedding: number[] }[] = [];
      planned.upserts.forEach((message, i) => {
        const embedding = vectors[i];
        // A wrong dimension would corrupt the collection: fail this item loudly, keep the rest going.
        if (!embedding || embedding.length !== deps.embedder.dimension) {
          failed.set(
            message.id,
            `dimension_mismatch: expected ${deps.embedder.dimension}, got ${embedding?.length ?? "none"}`,
          );
        } else good.push({ message, embedding });
      });
      if (good.length > 0) {
        await deps.vectorIndex.upsert(good);
        for (const g of good) {
          applied.push({
            messageId: g.message.id,
            version: g.message.version,
            embeddingId: `msg_${g.message.id}`,
            model: deps.embedder.modelId,
          });
        }
      }
    } catch (err) {
      const message = toAppError(err).message;
      for (const m of planned.upserts) if (!failed.has(m.id)) failed.set(m.id, message);
    }
  }
  if (planned.deletes.length > 0) {
    try {
      await deps.vectorIndex.remove(planned.deletes.map((d) => d.messageId));
      for (const d of planned.deletes)
        applied.push({ messageId: d.messageId, version: d.version, embeddingId: null });
    } catch (err) {
      const message = toAppError(err).message;
      for (const d of planned.deletes) failed.set(d.messageId, message);
    }
  }
  await deps.store.recordApplied("vector", applied);
  return result(planned, failed, applied.length);
}
