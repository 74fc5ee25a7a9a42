import type pg from "pg";
import type { CoordinationGap } from "../../core/gaps/gap";
import type {
  GapStore,
  GapWindow,
  StoredGapRun,
  WindowMessage,
  WindowMessageSource,
} from "../../core/gaps/ports";

/** Runs kept: the API reads the latest; a few older ones help compare runs. */
const KEPT_RUNS = 10;

/** Gap detection's PostgreSQL: the window's messages in, computed runs out (gap_runs, coordination_gaps). */
export class PgGapStore implements WindowMessageSource, GapStore {
  constructor(private readonly pool: pg.Pool) {}

  async windowMessages(window: GapWindow): Promise<WindowMessage[]> {
    const res = await this.pool.query<{
      id: string;
      channel: string;
      author: string;
      content: string;
      timestamp: Date;
      thread_id: string | null;
      permalink: string | null;
      source_id: string;
      source_type: string;
      source_name: string;
    }>(
      `SELECT m.id, m.channel, m.author, m.content, m."timestamp", m.thread_id,
              m.message_metadata->>'permalink' AS permalink, m.source_id, s.type AS source_type, s.name AS source_name
       FROM messages m JOIN sources s ON s.id = m.source_id
       WHERE m.deleted_at IS NULL AND m."timestamp" >= $1 AND m."timestamp" < $2
       ORDER BY m.id`,
      [window.since, window.until],
    );
    // One object per source, not per message (a 100,000-message window has a handful of sources).
    const sources = new Map<string, { type: string; name: string }>();
    const sourceOf = (r: { source_id: string; source_type: string; source_name: string }) => {
      let ref = sources.get(r.source_id);
      if (!ref) {
        ref = { type: r.source_type, name: r.source_name };
        sources.set(r.source_id, ref);
      }
      return ref;
    };
    return res.rows.map((r) => ({
      id: Number(r.id),
      channel: r.channel,
      author: r.author,
      content: r.content,
      timestamp: r.timestamp,
      threadId: r.thread_id,
      permalink: r.permalink,
      source: sourceOf(r),
    }));
  }

  async newestMessageAt(): Promise<Date | null> {
    const res = await this.pool.query<{ newest: Date | null }>(
      `SELECT max("timestamp") AS newest FROM messages WHERE deleted_at IS NULL`,
    );
    return res.rows[0]?.newest ?? null;
  }

  async saveRun(run: Omit<StoredGapRun, "id">, stats: unknown): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO gap_runs (window_since, window_until, computed_at, stats) VALUES ($1, $2, $3, $4) RETURNING id`,
        [run.window.since, run.window.until, run.computedAt, JSON.stringify(stats)],
      );
      const runId = Number(inserted.rows[0]!.id);
      if (run.gaps.length > 0) {
        await client.query(
          `INSERT INTO coordination_gaps (run_id, rank, gap_key, channels, first_at, last_at, score, gap)
           SELECT $1, u.rank, u.gap_key, ARRAY(SELECT jsonb_array_elements_text(u.channels)), u.first_at, u.last_at, u.score, u.gap
           FROM unnest($2::int[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::timestamptz[], $7::float8[], $8::jsonb[])
             AS u(rank, gap_key, channels, first_at, last_at, score, gap)`,
          [
            runId,
            run.gaps.map((_, i) => i + 1),
            run.gaps.map((g) => g.key),
            run.gaps.map((g) => JSON.stringify(g.sides.flatMap((s) => s.conversations))),
            run.gaps.map((g) => g.firstAt),
            run.gaps.map((g) => g.lastAt),
            run.gaps.map((g) => g.score.value),
            run.gaps.map((g) => JSON.stringify(g)),
          ],
        );
      }
      await client.query(
        `DELETE FROM gap_runs WHERE id NOT IN (SELECT id FROM gap_runs ORDER BY id DESC LIMIT ${KEPT_RUNS})`,
      );
      await client.query("COMMIT");
      return runId;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async latestRun(filter: {
    since?: Date;
    until?: Date;
    channels?: readonly string[];
    limit: number;
  }): Promise<StoredGapRun | null> {
    const run = await this.pool.query<{
      id: string;
      window_since: Date;
      window_until: Date;
      computed_at: Date;
    }>(`SELECT id, window_since, window_until, computed_at FROM gap_runs ORDER BY id DESC LIMIT 1`);
    const row = run.rows[0];
    if (!row) return null;
    const gaps = await this.pool.query<{ gap: SerializedGap }>(
      `SELECT gap FROM coordination_gaps
       WHERE run_id = $1
         AND ($2::timestamptz IS NULL OR last_at >= $2)
         AND ($3::timestamptz IS NULL OR first_at < $3)
         AND ($4::text[] IS NULL OR channels && $4)
       ORDER BY rank
       LIMIT $5`,
      [
        row.id,
        filter.since ?? null,
        filter.until ?? null,
        filter.channels?.length ? filter.channels : null,
        filter.limit,
      ],
    );
    return {
      id: Number(row.id),
      window: { since: row.window_since, until: row.window_until },
      computedAt: row.computed_at,
      gaps: gaps.rows.map((r) => reviveGap(r.gap)),
    };
  }

  async latestRunMessageIds(): Promise<Set<number>> {
    // The ids only: the whole run's gaps are a few MB at 100k messages, read once per hourly run.
    const res = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT jsonb_array_elements_text(gap -> 'messageIds') AS id
       FROM coordination_gaps
       WHERE run_id = (SELECT max(id) FROM gap_runs)`,
    );
    return new Set(res.rows.map((r) => Number(r.id)));
  }
}

/** A gap as JSON keeps its dates as ISO strings. */
type SerializedGap = Omit<CoordinationGap, "firstAt" | "lastAt" | "sides"> & {
  firstAt: string;
  lastAt: string;
  sides: (Omit<CoordinationGap["sides"][number], "representatives"> & {
    representatives: (Omit<CoordinationGap["sides"][number]["representatives"][number], "timestamp"> & {
      timestamp: string;
    })[];
  })[];
};

function reviveGap(g: SerializedGap): CoordinationGap {
  return {
    ...g,
    firstAt: new Date(g.firstAt),
    lastAt: new Date(g.lastAt),
    sides: g.sides.map((s) => ({
      ...s,
      representatives: s.representatives.map((m) => ({ ...m, timestamp: new Date(m.timestamp) })),
    })),
  };
}
