import type pg from "pg";
import type { ContextSource, MessageNeighbours, NeighbourReach } from "../../core/message-context";
import { messageHash } from "../../core/message-hash";
import type { IndexTarget, MessageInput, SourceRef, StoredMessage } from "../../core/model";
import type {
  EnrichedMessage,
  HitThread,
  IngestOutcome,
  MessageReader,
  MessageStore,
  OutboxEntry,
  OutboxStore,
  PageRows,
  SourceChangeBatchStore,
  SourceChangeStore,
  SourceUpsert,
} from "../../core/ports";
import {
  type DeleteDecision,
  decideDelete,
  decideUpsert,
  type SourceChange,
  type SourceChangeOutcome,
  type SourceState,
  type UpsertDecision,
} from "../../core/source-change";
import { upsertSource } from "./pg-sources";

interface MessageRow {
  id: string;
  source_id: string;
  source_type: string;
  source_name: string;
  external_id: string;
  channel: string;
  author: string;
  content: string;
  timestamp: Date;
  thread_id: string | null;
  message_metadata: Record<string, unknown>;
  embedding_id: string | null;
  version: string;
  content_hash: string;
  deleted_at: Date | null;
}

export const MESSAGE_COLUMNS = `m.id, m.source_id, s.type AS source_type, s.name AS source_name, m.external_id,
  m.channel, m.author, m.content, m."timestamp", m.thread_id, m.message_metadata, m.embedding_id,
  m.version, m.content_hash, m.deleted_at`;

export function toStoredMessage(r: MessageRow): StoredMessage {
  return {
    id: Number(r.id),
    sourceId: Number(r.source_id),
    source: { type: r.source_type, name: r.source_name },
    externalId: r.external_id,
    channel: r.channel,
    author: r.author,
    content: r.content,
    timestamp: r.timestamp,
    threadId: r.thread_id,
    metadata: r.message_metadata,
    embeddingId: r.embedding_id,
    version: Number(r.version),
    contentHash: r.content_hash,
    deletedAt: r.deleted_at,
  };
}

type EnrichedRow = MessageRow & {
  author_name: string | null;
  channel_name: string | null;
  workspace_domain: string | null;
};

function toEnrichedMessage(r: EnrichedRow): EnrichedMessage {
  const m = toStoredMessage(r);
  return {
    id: m.id,
    externalId: m.externalId,
    content: m.content,
    author: m.author,
    channel: m.channel,
    timestamp: m.timestamp,
    threadId: m.threadId,
    source: m.source,
    metadata: m.metadata,
    authorName: r.author_name,
    channelName: r.channel_name,
    workspaceDomain: r.workspace_domain,
  };
}

const TARGETS: readonly IndexTarget[] = ["keyword", "vector"];

/** Microseconds since the epoch -> an ISO timestamp Postgres parses without losing a digit. */
function microsToIso(us: bigint): string {
  const iso = new Date(Number(us / 1000n)).toISOString(); // ...T..:..:..mmmZ
  return `${iso.slice(0, -1)}${String(us % 1000n).padStart(3, "0")}Z`;
}

/** The row a source change is about: ids as PostgreSQL returns them. */
type SourceRow = { id: string; version: string };

/** A source change's outcome for its status and the row it ends on (none: no row). */
type OutcomeOf = (status: SourceChangeOutcome["status"], row?: SourceRow) => SourceChangeOutcome;

/** Where a source change applies: its source's id, the message's external id and row, its time. */
interface SourceTarget {
  readonly sourceId: number;
  readonly externalId: string;
  readonly row: SourceRow | undefined;
  /** The source time of the change, as an ISO timestamp with microseconds. */
  readonly sourceTime: string;
}

/** A stored row as the upsert/delete decisions read it (one mapping for the single and batch paths). */
function decisionRow(
  row: { content_hash: string; deleted: boolean; source_us: string | null } | undefined,
): SourceState["row"] {
  return row
    ? {
        sourceTimeUs: row.source_us === null ? null : BigInt(row.source_us),
        contentHash: row.content_hash,
        deleted: row.deleted,
      }
    : null;
}

/** What the decision of a source change reads: the row, its source time and hash, a tombstone. */
async function readSourceState(
  db: pg.PoolClient,
  sourceId: number,
  externalId: string,
): Promise<{ row: SourceRow | undefined; state: SourceState }> {
  const current = await db.query<{
    id: string;
    version: string;
    content_hash: string;
    deleted: boolean;
    source_us: string | null;
  }>(
    `SELECT id, version, content_hash, deleted_at IS NOT NULL AS deleted,
            (extract(epoch FROM source_updated_at) * 1000000)::bigint::text AS source_us
     FROM messages WHERE source_id = $1 AND external_id = $2`,
    [sourceId, externalId],
  );
  const tomb = await db.query("SELECT 1 FROM source_tombstones WHERE source_id = $1 AND external_id = $2", [
    sourceId,
    externalId,
  ]);
  const row = current.rows[0];
  return {
    row,
    state: {
      row: decisionRow(row),
      tombstoned: (tomb.rowCount ?? 0) > 0,
    },
  };
}

export interface PgMessageStoreOptions {
  /**
   * How far the indexes' message context reaches (message-context.ts). A write then gives the
   * messages whose context it changes a new version and index jobs, so their representations
   * follow: the next `preceding` messages of the conversation within the window, and a thread's
   * replies when its parent changes. Absent or empty: no other message is touched.
   */
  readonly contextReach?: NeighbourReach;
}

/**
 * The conversation a message belongs to for context: the thread for a reply, the channel's top
 * level otherwise. `c` is the message, `d` the candidate neighbour.
 */
const SAME_CONVERSATION = `d.source_id = c.source_id AND d.channel = c.channel
  AND d.thread_id IS NOT DISTINCT FROM c.thread_id`;

export class PgMessageStore
  implements
    MessageStore,
    OutboxStore,
    MessageReader,
    SourceChangeStore,
    SourceChangeBatchStore,
    ContextSource
{
  private readonly reach: NeighbourReach | undefined;

  constructor(
    private readonly pool: pg.Pool,
    opts: PgMessageStoreOptions = {},
  ) {
    const r = opts.contextReach;
    this.reach = r && (r.parent || r.preceding > 0) ? r : undefined;
  }

  async neighbours(
    messages: readonly StoredMessage[],
    reach: NeighbourReach,
  ): Promise<Map<number, MessageNeighbours>> {
    const out = new Map<
      number,
      { parent: MessageNeighbours["parent"]; preceding: MessageNeighbours["preceding"][number][] }
    >();
    if (messages.length === 0) return out;
    for (const m of messages) out.set(m.id, { parent: null, preceding: [] });
    const ids = messages.map((m) => m.id);
    const [preceding, parents] = await Promise.all([
      reach.preceding > 0
        ? this.pool.query<{ for_id: string; author: string; content: string }>(
            `SELECT c.id AS for_id, p.author, p.content
             FROM messages c CROSS JOIN LATERAL (
               SELECT d.author, d.content, d."timestamp", d.id FROM messages d
               WHERE ${SAME_CONVERSATION} AND d.deleted_at IS NULL
                 AND (d."timestamp", d.id) < (c."timestamp", c.id)
                 AND d."timestamp" >= c."timestamp" - make_interval(mins => $2)
               ORDER BY d."timestamp" DESC, d.id DESC LIMIT $3) p
             WHERE c.id = ANY($1::bigint[])
             ORDER BY c.id, p."timestamp", p.id`,
            [ids, reach.windowMinutes, reach.preceding],
          )
        : Promise.resolve({ rows: [] }),
      reach.parent
        ? this.pool.query<{ for_id: string; author: string; content: string }>(
            `SELECT c.id AS for_id, d.author, d.content
             FROM messages c JOIN messages d
               ON d.source_id = c.source_id AND d.external_id = c.thread_id AND d.id <> c.id
             WHERE c.id = ANY($1::bigint[]) AND d.deleted_at IS NULL`,
            [ids],
          )
        : Promise.resolve({ rows: [] }),
    ]);
    for (const r of preceding.rows)
      out.get(Number(r.for_id))?.preceding.push({ author: r.author, content: r.content });
    for (const r of parents.rows) {
      const n = out.get(Number(r.for_id));
      if (n) n.parent = { author: r.author, content: r.content };
    }
    return out;
  }

  /**
   * The live messages whose context includes one of `ids` as they are now: the next `preceding`
   * messages of the same conversation within the window, and, for a thread parent, its replies.
   */
  private async contextDependents(db: pg.PoolClient, ids: readonly number[]): Promise<number[]> {
    const reach = this.reach;
    if (!reach || ids.length === 0) return [];
    const res = await db.query<{ id: string }>(
      `SELECT f.id FROM messages c CROSS JOIN LATERAL (
         SELECT d.id FROM messages d
         WHERE ${SAME_CONVERSATION} AND d.deleted_at IS NULL
           AND (d."timestamp", d.id) > (c."timestamp", c.id)
           AND d."timestamp" <= c."timestamp" + make_interval(mins => $2)
         ORDER BY d."timestamp", d.id LIMIT $3) f
       WHERE c.id = ANY($1::bigint[]) AND $3 > 0
       UNION
       SELECT d.id FROM messages c JOIN messages d
         ON d.source_id = c.source_id AND d.channel = c.channel AND d.thread_id = c.external_id
       WHERE c.id = ANY($1::bigint[]) AND $4 AND d.id <> c.id AND d.deleted_at IS NULL`,
      [ids, reach.windowMinutes, reach.preceding, reach.parent],
    );
    const changed = new Set(ids);
    return res.rows.map((r) => Number(r.id)).filter((id) => !changed.has(id));
  }

  /** contextDependents of the batch's existing rows that this write will change (hash or undelete). */
  private async dependentsOfChanging(
    db: pg.PoolClient,
    sourceId: number,
    messages: readonly MessageInput[],
    hashes: readonly string[],
  ): Promise<number[]> {
    if (!this.reach) return [];
    const newHash = new Map(messages.map((m, i) => [m.externalId, hashes[i]]));
    const res = await db.query<{ id: string; external_id: string; content_hash: string; deleted: boolean }>(
      `SELECT id, external_id, content_hash, deleted_at IS NOT NULL AS deleted FROM messages
       WHERE source_id = $1 AND external_id = ANY($2::text[])`,
      [sourceId, messages.map((m) => m.externalId)],
    );
    const changing = res.rows
      .filter((r) => r.deleted || r.content_hash !== newHash.get(r.external_id))
      .map((r) => Number(r.id));
    return this.contextDependents(db, changing);
  }

  /**
   * After `written` changed (content, position or delete), gives the messages whose context it is
   * a new version, in the same transaction, so both indexes and the reconciler see them as changed.
   * `before`: the dependents of the written rows where they were before the write (an edit may
   * move a row). Returns their index jobs; the written rows themselves are never bumped twice.
   */
  private async contextJobs(
    db: pg.PoolClient,
    written: readonly number[],
    before: readonly number[] = [],
  ): Promise<{ messageId: number; version: number; op: "upsert" }[]> {
    const writtenSet = new Set(written);
    const ids = [...new Set([...before, ...(await this.contextDependents(db, written))])].filter(
      (id) => !writtenSet.has(id),
    );
    if (ids.length === 0) return [];
    const res = await db.query<{ id: string; version: string }>(
      `UPDATE messages SET version = version + 1, updated_at = now()
       WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL RETURNING id, version`,
      [ids],
    );
    return res.rows.map((r) => ({
      messageId: Number(r.id),
      version: Number(r.version),
      op: "upsert" as const,
    }));
  }

  async ingest(
    source: SourceRef,
    messages: readonly MessageInput[],
  ): Promise<{ outcomes: IngestOutcome[]; outboxIds: number[] }> {
    return this.transaction(async (db) => {
      const sourceId = await upsertSource(db, source);
      const hashes = messages.map(messageHash);
      // Context of other messages this batch changes where the rows are now (an edit may move one).
      const dependentsBefore = await this.dependentsOfChanging(db, sourceId, messages, hashes);
      // One statement for the whole batch. The WHERE on DO UPDATE makes an identical re-send a
      // no-op (no version bump, no outbox row); re-sending a deleted message brings it back.
      const written = await db.query<{ id: string; external_id: string; version: string; inserted: boolean }>(
        `INSERT INTO messages (source_id, external_id, content, author, channel, "timestamp", thread_id,
                               message_metadata, content_hash)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                                  $7::text[], $8::jsonb[], $9::text[])
         ON CONFLICT (source_id, external_id) DO UPDATE SET
           content = EXCLUDED.content, author = EXCLUDED.author, channel = EXCLUDED.channel,
           "timestamp" = EXCLUDED."timestamp", thread_id = EXCLUDED.thread_id,
           message_metadata = EXCLUDED.message_metadata, content_hash = EXCLUDED.content_hash,
           deleted_at = NULL, version = messages.version + 1, updated_at = now()
         WHERE messages.content_hash <> EXCLUDED.content_hash OR messages.deleted_at IS NOT NULL
         RETURNING id, external_id, version, (xmax = 0) AS inserted`,
        [
          sourceId,
          messages.map((m) => m.externalId),
          messages.map((m) => m.content),
          messages.map((m) => m.author),
          messages.map((m) => m.channel),
          messages.map((m) => m.timestamp.toISOString()),
          messages.map((m) => m.threadId ?? null),
          messages.map((m) => JSON.stringify(m.metadata ?? {})),
          hashes,
        ],
      );
      const changed = new Map(written.rows.map((r) => [r.external_id, r]));
      const unchangedIds = messages.map((m) => m.externalId).filter((id) => !changed.has(id));
      const unchanged = new Map<string, { id: string; version: string }>();
      if (unchangedIds.length > 0) {
        const res = await db.query<{ id: string; external_id: string; version: string }>(
          "SELECT id, external_id, version FROM messages WHERE source_id = $1 AND external_id = ANY($2::text[])",
          [sourceId, unchangedIds],
        );
        for (const r of res.rows) unchanged.set(r.external_id, r);
      }
      const outboxIds = await this.enqueue(
        db,
        written.rows.map((r) => ({
          messageId: Number(r.id),
          version: Number(r.version),
          op: "upsert" as const,
        })),
      );
      const writtenIds = written.rows.map((r) => Number(r.id));
      outboxIds.push(...(await this.enqueue(db, await this.contextJobs(db, writtenIds, dependentsBefore))));
      const outcomes = messages.map((m): IngestOutcome => {
        const w = changed.get(m.externalId);
        if (w) {
          return {
            externalId: m.externalId,
            messageId: Number(w.id),
            status: w.inserted ? "created" : "updated",
            version: Number(w.version),
          };
        }
        const u = unchanged.get(m.externalId);
        if (!u) throw new Error(`message ${m.externalId} vanished inside its own transaction`);
        return {
          externalId: m.externalId,
          messageId: Number(u.id),
          status: "unchanged",
          version: Number(u.version),
        };
      });
      return { outcomes, outboxIds };
    });
  }

  async softDelete(
    messageId: number,
  ): Promise<{ version: number; outboxIds: number[]; changed: boolean } | null> {
    return this.transaction(async (db) => {
      const res = await db.query<{ version: string }>(
        `UPDATE messages SET deleted_at = now(), version = version + 1, updated_at = now()
         WHERE id = $1 AND deleted_at IS NULL RETURNING version`,
        [messageId],
      );
      const row = res.rows[0];
      if (row) {
        const version = Number(row.version);
        const outboxIds = await this.enqueue(db, [{ messageId, version, op: "delete" }]);
        outboxIds.push(...(await this.enqueue(db, await this.contextJobs(db, [messageId]))));
        return { version, outboxIds, changed: true };
      }
      const existing = await db.query<{ version: string }>("SELECT version FROM messages WHERE id = $1", [
        messageId,
      ]);
      const found = existing.rows[0];
      return found ? { version: Number(found.version), outboxIds: [], changed: false } : null;
    });
  }

  /**
   * One source change, in one transaction: the durable dedupe, the per-message lock, the state the
   * decision reads (core `decideDelete` / `decideUpsert`), then the write that decision calls for.
   */
  async applySourceChange(
    change: SourceChange,
  ): Promise<{ outcome: SourceChangeOutcome; outboxIds: number[] }> {
    const externalId = change.kind === "upsert" ? change.message.externalId : change.externalId;
    const outcome: OutcomeOf = (status, row) => ({
      eventId: change.eventId,
      externalId,
      status,
      messageId: row ? Number(row.id) : null,
      version: row ? Number(row.version) : null,
    });
    return this.transaction(async (db) => {
      // Durable dedupe, committed with the effect: a concurrent copy of the event waits on this
      // key and then finds it; a rolled-back attempt leaves nothing behind.
      const fresh = await db.query(
        "INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
        [change.eventId],
      );
      if (fresh.rowCount === 0) return { outcome: outcome("duplicate"), outboxIds: [] };
      const sourceId = await upsertSource(db, change.source);
      // Changes to one message are serialised, so read-decide-write below cannot interleave.
      await db.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `message:${sourceId}:${externalId}`,
      ]);
      const { row, state } = await readSourceState(db, sourceId, externalId);
      const target: SourceTarget = {
        sourceId,
        externalId,
        row,
        sourceTime: microsToIso(change.sourceTimeUs),
      };
      if (change.kind === "delete") return this.applySourceDelete(db, target, decideDelete(state), outcome);
      const contentHash = messageHash(change.message);
      const decision = decideUpsert(state, { sourceTimeUs: change.sourceTimeUs, contentHash });
      return this.applySourceUpsert(db, target, change.message, contentHash, decision, outcome);
    });
  }

  /** A source's delete: always final, remembered by a tombstone even for a message never seen. */
  private async applySourceDelete(
    db: pg.PoolClient,
    target: SourceTarget,
    decision: DeleteDecision,
    outcome: OutcomeOf,
  ): Promise<{ outcome: SourceChangeOutcome; outboxIds: number[] }> {
    const { row } = target;
    if (decision === "already_deleted") return { outcome: outcome("already_deleted", row), outboxIds: [] };
    await db.query("INSERT INTO source_tombstones (source_id, external_id, deleted_at) VALUES ($1, $2, $3)", [
      target.sourceId,
      target.externalId,
      target.sourceTime,
    ]);
    if (decision === "tombstone_only")
      return { outcome: outcome(row ? "already_deleted" : "deleted", row), outboxIds: [] };
    const res = await db.query<{ id: string; version: string }>(
      `UPDATE messages SET deleted_at = $2, version = version + 1, updated_at = now(),
         source_updated_at = GREATEST(source_updated_at, $2::timestamptz)
       WHERE id = $1 RETURNING id, version`,
      [row!.id, target.sourceTime],
    );
    const deleted = res.rows[0]!;
    const outboxIds = await this.enqueue(db, [
      { messageId: Number(deleted.id), version: Number(deleted.version), op: "delete" },
    ]);
    outboxIds.push(...(await this.enqueue(db, await this.contextJobs(db, [Number(deleted.id)]))));
    return { outcome: outcome("deleted", deleted), outboxIds };
  }

  /** A source's upsert: nothing for a deleted or stale state, the source time alone for a touch. */
  private async applySourceUpsert(
    db: pg.PoolClient,
    target: SourceTarget,
    m: MessageInput,
    contentHash: string,
    decision: UpsertDecision,
    outcome: OutcomeOf,
  ): Promise<{ outcome: SourceChangeOutcome; outboxIds: number[] }> {
    const { row } = target;
    switch (decision) {
      case "deleted":
        return { outcome: outcome("ignored_deleted", row), outboxIds: [] };
      case "stale":
        return { outcome: outcome("stale", row), outboxIds: [] };
      case "touch":
        await db.query("UPDATE messages SET source_updated_at = $2 WHERE id = $1", [
          row!.id,
          target.sourceTime,
        ]);
        return { outcome: outcome("unchanged", row), outboxIds: [] };
      case "insert":
      case "update": {
        const written = await this.writeSourceMessage(db, target, m, contentHash, decision);
        return { outcome: outcome(decision === "insert" ? "created" : "updated", written.row), ...written };
      }
    }
  }

  /** The new state of a source message: its row (a new version), its index job and its context jobs. */
  private async writeSourceMessage(
    db: pg.PoolClient,
    target: SourceTarget,
    m: MessageInput,
    contentHash: string,
    decision: "insert" | "update",
  ): Promise<{ row: SourceRow; outboxIds: number[] }> {
    const { row } = target;
    const dependentsBefore = row ? await this.contextDependents(db, [Number(row.id)]) : [];
    const values = [
      m.content,
      m.author,
      m.channel,
      m.timestamp.toISOString(),
      m.threadId ?? null,
      JSON.stringify(m.metadata ?? {}),
      contentHash,
      target.sourceTime,
    ];
    const res =
      decision === "insert"
        ? await db.query<{ id: string; version: string }>(
            `INSERT INTO messages (content, author, channel, "timestamp", thread_id, message_metadata, content_hash,
                                   source_updated_at, source_id, external_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, version`,
            [...values, target.sourceId, target.externalId],
          )
        : await db.query<{ id: string; version: string }>(
            `UPDATE messages SET content = $1, author = $2, channel = $3, "timestamp" = $4, thread_id = $5,
               message_metadata = $6, content_hash = $7, source_updated_at = $8,
               version = version + 1, updated_at = now()
             WHERE id = $9 RETURNING id, version`,
            [...values, row!.id],
          );
    const written = res.rows[0]!;
    const outboxIds = await this.enqueue(db, [
      { messageId: Number(written.id), version: Number(written.version), op: "upsert" },
    ]);
    outboxIds.push(
      ...(await this.enqueue(db, await this.contextJobs(db, [Number(written.id)], dependentsBefore))),
    );
    return { row: written, outboxIds };
  }

  async applySourceUpserts(
    changes: readonly SourceUpsert[],
  ): Promise<{ outcomes: SourceChangeOutcome[]; outboxIds: number[] }> {
    if (changes.length === 0) return { outcomes: [], outboxIds: [] };
    return this.transaction(async (db) => {
      const outcomes: SourceChangeOutcome[] = new Array(changes.length);
      const jobs: { messageId: number; version: number; op: "upsert" }[] = [];
      const bySource = new Map<string, number[]>();
      changes.forEach((c, i) => {
        const key = JSON.stringify([c.source.type, c.source.name]);
        bySource.set(key, [...(bySource.get(key) ?? []), i]);
      });
      for (const indexes of bySource.values()) {
        const sourceId = await upsertSource(db, changes[indexes[0]!]!.source);
        const written = await this.applyUpsertsOfSource(db, sourceId, changes, indexes, outcomes);
        jobs.push(...written);
      }
      return { outcomes, outboxIds: await this.enqueue(db, jobs) };
    });
  }

  /** applySourceUpserts for one source: decide every message under its lock, then write set-wise. */
  private async applyUpsertsOfSource(
    db: pg.PoolClient,
    sourceId: number,
    changes: readonly SourceUpsert[],
    indexes: readonly number[],
    outcomes: SourceChangeOutcome[],
  ): Promise<{ messageId: number; version: number; op: "upsert" }[]> {
    const hashed = indexes.map((i) => ({ i, change: changes[i]!, hash: messageHash(changes[i]!.message) }));
    // One message twice in a batch: the one applySourceChange would end with wins, the other is stale.
    const winners = new Map<string, (typeof hashed)[number]>();
    for (const h of hashed) {
      const w = winners.get(h.change.message.externalId);
      const newer =
        !w ||
        h.change.sourceTimeUs > w.change.sourceTimeUs ||
        (h.change.sourceTimeUs === w.change.sourceTimeUs && h.hash > w.hash);
      if (newer) winners.set(h.change.message.externalId, h);
    }
    const ids = [...winners.keys()];
    // The same per-message locks as applySourceChange, taken in one order so batches cannot deadlock.
    await db.query(
      `SELECT pg_advisory_xact_lock(k) FROM (
         SELECT DISTINCT hashtextextended('message:' || $1::text || ':' || x, 0) AS k FROM unnest($2::text[]) x
         ORDER BY 1) locks`,
      [sourceId, ids],
    );
    const current = await db.query<{
      id: string;
      external_id: string;
      version: string;
      content_hash: string;
      deleted: boolean;
      source_us: string | null;
    }>(
      `SELECT id, external_id, version, content_hash, deleted_at IS NOT NULL AS deleted,
              (extract(epoch FROM source_updated_at) * 1000000)::bigint::text AS source_us
       FROM messages WHERE source_id = $1 AND external_id = ANY($2::text[])`,
      [sourceId, ids],
    );
    const rows = new Map(current.rows.map((r) => [r.external_id, r]));
    // A delete may have arrived before the message (a tombstone without a row).
    const tombs = await db.query<{ external_id: string }>(
      "SELECT external_id FROM source_tombstones WHERE source_id = $1 AND external_id = ANY($2::text[])",
      [sourceId, ids],
    );
    const tombstoned = new Set(tombs.rows.map((r) => r.external_id));
    const inserts: (typeof hashed)[number][] = [];
    const updates: { h: (typeof hashed)[number]; id: string }[] = [];
    const touches: { id: string; at: string }[] = [];
    const status = new Map<string, SourceChangeOutcome["status"]>();
    for (const [externalId, h] of winners) {
      const row = rows.get(externalId);
      const decision = decideUpsert(
        {
          row: decisionRow(row),
          tombstoned: tombstoned.has(externalId),
        },
        { sourceTimeUs: h.change.sourceTimeUs, contentHash: h.hash },
      );
      if (decision === "insert") inserts.push(h);
      else if (decision === "update") updates.push({ h, id: row!.id });
      else if (decision === "touch") touches.push({ id: row!.id, at: microsToIso(h.change.sourceTimeUs) });
      status.set(
        externalId,
        {
          insert: "created",
          update: "updated",
          touch: "unchanged",
          stale: "stale",
          deleted: "ignored_deleted",
        }[decision] as SourceChangeOutcome["status"],
      );
    }
    const columns = (list: readonly (typeof hashed)[number][]) => {
      const ms = list.map((h) => h.change.message);
      return [
        ms.map((m) => m.content),
        ms.map((m) => m.author),
        ms.map((m) => m.channel),
        ms.map((m) => m.timestamp.toISOString()),
        ms.map((m) => m.threadId ?? null),
        ms.map((m) => JSON.stringify(m.metadata ?? {})),
        list.map((h) => h.hash),
        list.map((h) => microsToIso(h.change.sourceTimeUs)),
      ];
    };
    // Context of other messages the updates change, where the rows are now (before the write).
    const dependentsBefore = await this.contextDependents(
      db,
      updates.map((u) => Number(u.id)),
    );
    const written: { id: string; external_id: string; version: string }[] = [];
    if (inserts.length > 0) {
      const res = await db.query<{ id: string; external_id: string; version: string }>(
        `INSERT INTO messages (content, author, channel, "timestamp", thread_id, message_metadata, content_hash,
                               source_updated_at, external_id, source_id)
         SELECT v.*, $10::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                                       $6::jsonb[], $7::text[], $8::timestamptz[], $9::text[]) AS v
         RETURNING id, external_id, version`,
        [...columns(inserts), inserts.map((h) => h.change.message.externalId), sourceId],
      );
      written.push(...res.rows);
    }
    if (updates.length > 0) {
      const res = await db.query<{ id: string; external_id: string; version: string }>(
        `UPDATE messages m SET content = v.content, author = v.author, channel = v.channel,
           "timestamp" = v.ts, thread_id = v.thread_id, message_metadata = v.metadata,
           content_hash = v.hash, source_updated_at = v.source_at, version = m.version + 1, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::text[],
                     $8::timestamptz[], $9::bigint[])
           AS v(content, author, channel, ts, thread_id, metadata, hash, source_at, id)
         WHERE m.id = v.id RETURNING m.id, m.external_id, m.version`,
        [...columns(updates.map((u) => u.h)), updates.map((u) => u.id)],
      );
      written.push(...res.rows);
    }
    if (touches.length > 0) {
      await db.query(
        `UPDATE messages m SET source_updated_at = v.at
         FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, at) WHERE m.id = v.id`,
        [touches.map((t) => t.id), touches.map((t) => t.at)],
      );
    }
    const final = new Map<string, { id: string | number; version: string | number }>(rows);
    for (const w of written) final.set(w.external_id, w);
    for (const h of hashed) {
      const externalId = h.change.message.externalId;
      const row = final.get(externalId);
      outcomes[h.i] = {
        eventId: h.change.eventId,
        externalId,
        status: winners.get(externalId) === h ? status.get(externalId)! : "stale",
        messageId: row ? Number(row.id) : null,
        version: row ? Number(row.version) : null,
      };
    }
    return [
      ...written.map((w) => ({
        messageId: Number(w.id),
        version: Number(w.version),
        op: "upsert" as const,
      })),
      ...(await this.contextJobs(
        db,
        written.map((w) => Number(w.id)),
        dependentsBefore,
      )),
    ];
  }

  async getByIds(ids: readonly number[]): Promise<StoredMessage[]> {
    if (ids.length === 0) return [];
    const res = await this.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN sources s ON s.id = m.source_id WHERE m.id = ANY($1::bigint[])`,
      [ids],
    );
    return res.rows.map(toStoredMessage);
  }

  async liveMessages(ids: readonly number[]): Promise<Map<number, EnrichedMessage>> {
    if (ids.length === 0) return new Map();
    // Names from the directory at read time; planned once per connection (migrations/1733500000000).
    const res = await this.pool.query<EnrichedRow>("SELECT * FROM live_messages($1::bigint[])", [ids]);
    return new Map(res.rows.map((r) => [Number(r.id), toEnrichedMessage(r)]));
  }

  async liveMessagesWithThreads(ids: readonly number[]): Promise<PageRows> {
    if (ids.length === 0) return { rows: new Map(), threads: new Map() };
    // One round trip, planned once per connection (migrations/1733500000000_search-page-rows.sql).
    const res = await this.pool.query<EnrichedRow & { parent_id: string | null; replies: string | null }>(
      "SELECT * FROM search_page_rows($1::bigint[])",
      [ids],
    );
    const rows = new Map<number, EnrichedMessage>();
    const threads = new Map<number, HitThread>();
    for (const r of res.rows) {
      const id = Number(r.id);
      rows.set(id, toEnrichedMessage(r));
      // A parent read only as a parent has no thread of its own here.
      if (r.replies !== null)
        threads.set(id, {
          parentId: r.parent_id === null ? null : Number(r.parent_id),
          replyCount: Number(r.replies),
        });
    }
    return { rows, threads };
  }

  async recordApplied(
    target: IndexTarget,
    applied: readonly { messageId: number; version: number; embeddingId?: string | null; model?: string }[],
  ): Promise<void> {
    if (applied.length === 0) return;
    const ids = applied.map((a) => a.messageId);
    const versions = applied.map((a) => a.version);
    if (target === "keyword") {
      await this.pool.query(
        `UPDATE messages m SET keyword_version = GREATEST(COALESCE(m.keyword_version, 0), a.version)
         FROM unnest($1::bigint[], $2::bigint[]) AS a(id, version) WHERE m.id = a.id`,
        [ids, versions],
      );
      return;
    }
    // Only the newest applied version may set embedding_id, so a late old job cannot undo a delete.
    await this.pool.query(
      `UPDATE messages m SET vector_version = a.version, embedding_id = a.embedding_id, vector_model = a.model
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS a(id, version, embedding_id, model)
       WHERE m.id = a.id AND COALESCE(m.vector_version, 0) <= a.version`,
      [ids, versions, applied.map((a) => a.embeddingId ?? null), applied.map((a) => a.model ?? null)],
    );
  }

  async countLive(): Promise<number> {
    const res = await this.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM messages WHERE deleted_at IS NULL",
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  async drain(
    opts: { limit: number; ids?: readonly number[] },
    publish: (entries: readonly OutboxEntry[]) => Promise<Set<number>>,
  ): Promise<{ sent: number; failed: number }> {
    return this.transaction(async (db) => {
      // SKIP LOCKED: the after-commit publish and the scheduled relay never send the same row twice.
      const res = await db.query<{
        id: string;
        message_id: string;
        target: IndexTarget;
        op: "upsert" | "delete";
        version: string;
      }>(
        `SELECT id, message_id, target, op, version FROM outbox
         WHERE sent_at IS NULL ${opts.ids ? "AND id = ANY($2::bigint[])" : ""}
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        opts.ids ? [opts.limit, opts.ids] : [opts.limit],
      );
      if (res.rows.length === 0) return { sent: 0, failed: 0 };
      const entries = res.rows.map(
        (r): OutboxEntry => ({
          id: Number(r.id),
          target: r.target,
          job: { messageId: Number(r.message_id), op: r.op, version: Number(r.version) },
        }),
      );
      let sentIds: Set<number>;
      let error: string | null = null;
      try {
        sentIds = await publish(entries);
      } catch (err) {
        sentIds = new Set();
        error = err instanceof Error ? err.message : String(err);
      }
      const sent = entries.filter((e) => sentIds.has(e.id)).map((e) => e.id);
      const failed = entries.filter((e) => !sentIds.has(e.id)).map((e) => e.id);
      if (sent.length > 0) {
        await db.query(
          "UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])",
          [sent],
        );
      }
      if (failed.length > 0) {
        await db.query(
          "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])",
          [failed, error ?? "not accepted by the queue"],
        );
      }
      return { sent: sent.length, failed: failed.length };
    });
  }

  async countPending(): Promise<number> {
    const res = await this.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL",
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  private async enqueue(
    db: pg.PoolClient,
    jobs: readonly { messageId: number; version: number; op: "upsert" | "delete" }[],
  ): Promise<number[]> {
    if (jobs.length === 0) return [];
    const rows = jobs.flatMap((j) => TARGETS.map((t) => ({ ...j, target: t })));
    const res = await db.query<{ id: string }>(
      `INSERT INTO outbox (message_id, target, op, version)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) RETURNING id`,
      [
        rows.map((r) => r.messageId),
        rows.map((r) => r.target),
        rows.map((r) => r.op),
        rows.map((r) => r.version),
      ],
    );
    return res.rows.map((r) => Number(r.id));
  }

  private async transaction<T>(work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const db = await this.pool.connect();
    try {
      await db.query("BEGIN");
      const result = await work(db);
      await db.query("COMMIT");
      return result;
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }
}
