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
    // The thread key and the time in epoch ms come out of PostgreSQL ready: node-pg's parsing of a
    // timestamptz into a Date and building the key here cost ~0.3 ms of CPU per hybrid search.
    const res = await this.pool.query<{
      id: string;
      thread_key: string;
      in_thread: boolean;
      ms: number;
      live: boolean;
    }>(
      `SELECT id, json_build_array(source_id::text, channel, COALESCE(thread_id, external_id))::text AS thread_key,
              thread_id IS NOT NULL AS in_thread, (extract(epoch FROM "timestamp") * 1000)::float8 AS ms,
              deleted_at IS NULL AS live
       FROM messages WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(
      res.rows.map((r) => [
        Number(r.id),
        { threadKey: r.thread_key, inThread: r.in_thread, timestamp: new Date(r.ms), live: r.live },
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
