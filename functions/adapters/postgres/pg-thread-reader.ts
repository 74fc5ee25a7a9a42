import type pg from "pg";
import type { ThreadReader } from "../../core/ports";
import type { HitFacts } from "../../core/search/grouping";

/**
 * Threads and neighbours of search hits (thread grouping, `context=N`). A thread is identified as
 * the messages themselves say it: replies carry `thread_id` = the parent's external id (Slack:
 * `<channel>:<thread_ts>`, which the parent carries too), within one source and channel.
 * Only ids come back: the search reads the rows through its MessageReader (names, visibility).
 */
export class PgThreadReader implements ThreadReader {
  constructor(private readonly pool: pg.Pool) {}

  async facts(ids: readonly number[]): Promise<Map<number, HitFacts>> {
    if (ids.length === 0) return new Map();
    const res = await this.pool.query<{
      id: string;
      source_id: string;
      channel: string;
      external_id: string;
      thread_id: string | null;
      timestamp: Date;
      live: boolean;
    }>(
      `SELECT id, source_id, channel, external_id, thread_id, "timestamp", deleted_at IS NULL AS live
       FROM messages WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(
      res.rows.map((r) => [
        Number(r.id),
        {
          threadKey: JSON.stringify([r.source_id, r.channel, r.thread_id ?? r.external_id]),
          inThread: r.thread_id !== null,
          timestamp: r.timestamp,
          live: r.live,
        },
      ]),
    );
  }

  async around(
    ids: readonly number[],
    n: number,
  ): Promise<Map<number, { before: number[]; after: number[] }>> {
    const out = new Map<number, { before: number[]; after: number[] }>(
      ids.map((id) => [id, { before: [], after: [] }]),
    );
    if (ids.length === 0 || n <= 0) return out;
    // A reply's neighbours are its thread's messages (parent included); any other message's are
    // its channel's top-level messages (replies stay in their threads, as Slack shows a channel).
    const conversation = `c.source_id = m.source_id AND c.channel = m.channel AND c.deleted_at IS NULL
      AND CASE WHEN m.thread_id IS NOT NULL THEN c.thread_id = m.thread_id OR c.external_id = m.thread_id
               ELSE c.thread_id IS NULL OR c.thread_id = c.external_id END`;
    const res = await this.pool.query<{ hit: string; side: "before" | "after"; id: string }>(
      `SELECT m.id AS hit, x.side, x.id
       FROM messages m CROSS JOIN LATERAL (
         (SELECT 'before' AS side, c.id, c."timestamp" FROM messages c
           WHERE ${conversation} AND (c."timestamp", c.id) < (m."timestamp", m.id)
           ORDER BY c."timestamp" DESC, c.id DESC LIMIT $2)
         UNION ALL
         (SELECT 'after' AS side, c.id, c."timestamp" FROM messages c
           WHERE ${conversation} AND (c."timestamp", c.id) > (m."timestamp", m.id)
           ORDER BY c."timestamp", c.id LIMIT $2)
       ) x
       WHERE m.id = ANY($1::bigint[])
       ORDER BY m.id, x."timestamp", x.id`,
      [ids, n],
    );
    for (const r of res.rows) out.get(Number(r.hit))?.[r.side].push(Number(r.id));
    return out;
  }
}
