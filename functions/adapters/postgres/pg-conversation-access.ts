import type pg from "pg";
import type { AccessChange, AccessStore, ConversationRef, VisibilityReader } from "../../core/access/access";
import { upsertSource } from "./pg-sources";

/** Who may read which conversation (conversation_access, conversation_members). */
export class PgConversationAccess implements AccessStore, VisibilityReader {
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
