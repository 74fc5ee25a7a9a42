import type pg from "pg";
import type { IndexTarget, StoredMessage } from "../../core/model";
import type { ReconcileCursor, ReconcileStore, RepairJob, RowPages, RowVersion } from "../../core/reconcile";
import { MESSAGE_COLUMNS, toStoredMessage } from "./pg-message-store";
import { loadState, saveState } from "./reconcile-state";

/** Reconciliation's view of PostgreSQL: id-ordered pages, repair jobs, cursor, lease. */
export class PgReconcileStore implements ReconcileStore, RowPages {
  constructor(private readonly pool: pg.Pool) {}

  async listRowVersions(afterId: number, limit: number): Promise<RowVersion[]> {
    // PK index range scan: the cost of a page does not grow with the table.
    const res = await this.pool.query<{ id: string; version: string; deleted: boolean }>(
      `SELECT id, version, deleted_at IS NOT NULL AS deleted FROM messages WHERE id > $1 ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return res.rows.map((r) => ({ id: Number(r.id), version: Number(r.version), deleted: r.deleted }));
  }

  async rowVersions(ids: readonly number[]): Promise<Map<number, RowVersion>> {
    if (ids.length === 0) return new Map();
    const res = await this.pool.query<{ id: string; version: string; deleted: boolean }>(
      `SELECT id, version, deleted_at IS NOT NULL AS deleted FROM messages WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(
      res.rows.map((r) => [
        Number(r.id),
        { id: Number(r.id), version: Number(r.version), deleted: r.deleted },
      ]),
    );
  }

  async enqueueRepairs(jobs: readonly RepairJob[]): Promise<{ outboxId: number; target: IndexTarget }[]> {
    if (jobs.length === 0) return [];
    // A job already waiting in the outbox for the same index and version (or newer) is enough.
    const res = await this.pool.query<{ id: string; target: IndexTarget }>(
      `INSERT INTO outbox (message_id, target, op, version)
       SELECT a.message_id, a.target, 'upsert', a.version
       FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS a(message_id, target, version)
       WHERE NOT EXISTS (
         SELECT 1 FROM outbox o
         WHERE o.message_id = a.message_id AND o.target = a.target AND o.sent_at IS NULL AND o.version >= a.version)
       RETURNING id, target`,
      [jobs.map((j) => j.messageId), jobs.map((j) => j.target), jobs.map((j) => j.version)],
    );
    return res.rows.map((r) => ({ outboxId: Number(r.id), target: r.target }));
  }

  async maxId(): Promise<number> {
    const res = await this.pool.query<{ n: string | null }>("SELECT max(id) AS n FROM messages");
    return Number(res.rows[0]?.n ?? 0);
  }

  /** Full rows in id order (reindex): live and soft-deleted, so a rebuild also clears deletes. */
  async listRows(afterId: number, limit: number): Promise<StoredMessage[]> {
    const res = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN sources s ON s.id = m.source_id
       WHERE m.id > $1 ORDER BY m.id LIMIT $2`,
      [afterId, limit],
    );
    return res.rows.map(toStoredMessage);
  }

  async loadCursor(name: string): Promise<unknown> {
    return loadState(this.pool, name);
  }

  async saveCursor(name: string, cursor: ReconcileCursor): Promise<void> {
    await saveState(this.pool, name, cursor);
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    // One statement: creates the row or takes an expired (or own) lease; a live one blocks.
    const res = await this.pool.query(
      `INSERT INTO reconcile_state (name, lease_owner, lease_until)
       VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
       WHERE reconcile_state.lease_until IS NULL OR reconcile_state.lease_until < now()
          OR reconcile_state.lease_owner = EXCLUDED.lease_owner
       RETURNING name`,
      [name, owner, ttlMs],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.pool.query(
      "UPDATE reconcile_state SET lease_owner = NULL, lease_until = NULL WHERE name = $1 AND lease_owner = $2",
      [name, owner],
    );
  }
}
