import type pg from "pg";
import type { SourceRef } from "../../core/model";

/** The id of a source, created on first use. */
export async function upsertSource(db: pg.Pool | pg.PoolClient, source: SourceRef): Promise<number> {
  // DO UPDATE (a no-op) so RETURNING yields the id whether the row is new or not.
  const res = await db.query<{ id: string }>(
    `INSERT INTO sources (type, name) VALUES ($1, $2)
     ON CONFLICT (type, name) DO UPDATE SET type = EXCLUDED.type RETURNING id`,
    [source.type, source.name],
  );
  return Number(res.rows[0]!.id);
}
