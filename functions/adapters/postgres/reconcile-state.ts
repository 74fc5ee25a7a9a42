import type pg from "pg";

/**
 * Named JSON values in `reconcile_state` (the reconciler's cursors, the vector collection state):
 * the two adapters that keep state there share these reads and writes.
 */
export async function loadState(pool: pg.Pool, name: string): Promise<unknown> {
  const res = await pool.query<{ cursor: unknown }>("SELECT cursor FROM reconcile_state WHERE name = $1", [
    name,
  ]);
  return res.rows[0]?.cursor ?? null;
}

export async function saveState(pool: pg.Pool, name: string, value: unknown): Promise<void> {
  await pool.query(
    `INSERT INTO reconcile_state (name, cursor, updated_at) VALUES ($1, $2::jsonb, now())
     ON CONFLICT (name) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
    [name, JSON.stringify(value)],
  );
}
