import type pg from "pg";
import type {
  AccessChange,
  AccessStore,
  ChannelReaders,
  ConversationRef,
  VisibilityReader,
} from "../../core/access/access";
import { upsertSource } from "./pg-sources";

/** Who may read which conversation (conversation_access, conversation_members). */
export class PgConversationAccess implements AccessStore, VisibilityReader, ChannelReaders {
  constructor(private readonly pool: pg.Pool) {}

  async apply(changes: readonly AccessChange[]): Promise<void> {
    if (changes.length === 0) return;
    const db = await this.pool.connect();
    try {
      await db.query("BEGIN");
      const sourceIds = new Map<string, number>();
      for (const change of changes) {
        const sourceKey = `${change.source.type}:${change.source.name}`;
        let sourceId = sourceIds.get(sourceKey);
        if (sourceId === undefined) {
          sourceId = await upsertSource(db, change.source);
          sourceIds.set(sourceKey, sourceId);
        }
        await applyOne(db, sourceId, change);
      }
      await db.query("COMMIT");
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  async visibleConversations(principal: string): Promise<ConversationRef[]> {
    // Who sees what: migrations/1733510000000_visible-conversations.sql (planned once per connection).
    const res = await this.pool.query<{ type: string; name: string; conversation_id: string }>(
      "SELECT type, name, conversation_id FROM visible_conversations($1)",
      [principal],
    );
    return res.rows.map((r) => ({ source: { type: r.type, name: r.name }, conversation: r.conversation_id }));
  }

  async conversationsEveryReaderSees(channel: string): Promise<ConversationRef[]> {
    // Only conversations open to the channel's whole audience, never members-only ones: whoever
    // joins the channel later reads its history, the digest included. The channel's own row decides
    // the audience: open to everyone, only what is open to everyone; otherwise (its workspace, or its
    // members, all of that workspace) also what is open to that workspace. A conversation id with a
    // row in another source that is not open as well is left out (gap sides carry ids, not sources).
    // Recorded members who are not deleted must each be able to read it too (a guest of a shared
    // channel reads no workspace channel). No row, or rows in two sources: nothing.
    const res = await this.pool.query<{ type: string; name: string; conversation_id: string }>(
      `WITH target AS (
         SELECT source_id, audience FROM conversation_access WHERE conversation_id = $1
       ), readers AS (
         SELECT DISTINCT m.principal FROM conversation_members m JOIN target t ON t.source_id = m.source_id
         WHERE m.conversation_id = $1 AND m.member
           AND NOT EXISTS (SELECT 1 FROM directory_users d
                           WHERE d.source_id = m.source_id AND d.user_id = m.principal AND d.deleted)
       ), open_ids AS (
         SELECT a.conversation_id FROM conversation_access a CROSS JOIN target t
         WHERE (SELECT count(*) FROM target) = 1
         GROUP BY a.conversation_id, t.source_id, t.audience
         HAVING bool_and(a.audience = 'everyone'
                         OR (a.audience = 'workspace' AND a.source_id = t.source_id AND t.audience <> 'everyone'))
       ), every_member AS (
         SELECT v.conversation_id FROM readers r CROSS JOIN LATERAL visible_conversations(r.principal) v
         GROUP BY v.conversation_id
         HAVING count(DISTINCT r.principal) = (SELECT count(*) FROM readers)
       )
       SELECT s.type, s.name, a.conversation_id
       FROM open_ids o JOIN conversation_access a ON a.conversation_id = o.conversation_id
       JOIN sources s ON s.id = a.source_id
       WHERE NOT EXISTS (SELECT 1 FROM readers) OR o.conversation_id IN (SELECT conversation_id FROM every_member)`,
      [channel],
    );
    return res.rows.map((r) => ({ source: { type: r.type, name: r.name }, conversation: r.conversation_id }));
  }
}

async function applyOne(db: pg.PoolClient, sourceId: number, change: AccessChange): Promise<void> {
  const at = change.at.toISOString();
  switch (change.kind) {
    case "audience":
      if (change.fallback) {
        await db.query(
          `INSERT INTO conversation_access (source_id, conversation_id, audience, audience_time)
           VALUES ($1, $2, $3, '-infinity') ON CONFLICT DO NOTHING`,
          [sourceId, change.conversation, change.audience],
        );
        return;
      }
      await db.query(
        `INSERT INTO conversation_access AS a (source_id, conversation_id, audience, audience_time)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (source_id, conversation_id) DO UPDATE SET
           audience = EXCLUDED.audience, audience_time = EXCLUDED.audience_time, updated_at = now()
         WHERE a.audience_time <= EXCLUDED.audience_time`,
        [sourceId, change.conversation, change.audience, at],
      );
      return;
    case "member":
      await db.query(
        `INSERT INTO conversation_members AS m (source_id, conversation_id, principal, member, member_time)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source_id, conversation_id, principal) DO UPDATE SET
           member = EXCLUDED.member, member_time = EXCLUDED.member_time, updated_at = now()
         WHERE m.member_time <= EXCLUDED.member_time`,
        [sourceId, change.conversation, change.principal, change.member, at],
      );
      return;
    case "members": {
      const principals = [...new Set(change.principals)];
      await db.query(
        `INSERT INTO conversation_members AS m (source_id, conversation_id, principal, member, member_time)
         SELECT $1, $2, p, true, $4 FROM unnest($3::text[]) AS p
         ON CONFLICT (source_id, conversation_id, principal) DO UPDATE SET
           member = true, member_time = EXCLUDED.member_time, updated_at = now()
         WHERE m.member_time <= EXCLUDED.member_time`,
        [sourceId, change.conversation, principals, at],
      );
      // Whoever the list leaves out had left by then (unless a newer fact says otherwise).
      await db.query(
        `UPDATE conversation_members SET member = false, member_time = $4, updated_at = now()
         WHERE source_id = $1 AND conversation_id = $2 AND member AND member_time < $4
           AND principal <> ALL($3::text[])`,
        [sourceId, change.conversation, principals, at],
      );
      return;
    }
  }
}
