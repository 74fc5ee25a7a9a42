import type pg from "pg";
import type {
  ConversationPatch,
  DirectoryChange,
  DirectoryStore,
  DirectoryUser,
  MentionNames,
} from "../../core/directory/directory";
import type { NameDirectory, NameMatches } from "../../core/directory/named-filters";
import type { SourceRef } from "../../core/model";
import { splitSourceFilters } from "../../core/search/search-request";
import { upsertSource } from "./pg-sources";

/** The directory of people and conversations (directory_users, directory_conversations). */
export class PgDirectory implements DirectoryStore, NameDirectory, MentionNames {
  constructor(private readonly pool: pg.Pool) {}

  async apply(change: DirectoryChange): Promise<void> {
    const sourceId = await upsertSource(this.pool, change.source);
    if (change.kind === "users") await this.applyUsers(sourceId, change.users, change.at);
    else await this.applyConversations(sourceId, change.conversations, change.at);
  }

  private async applyUsers(sourceId: number, users: readonly DirectoryUser[], at: Date): Promise<void> {
    // One row per id (ON CONFLICT may not touch a row twice in one statement): the last one wins.
    const byId = [...new Map(users.map((u) => [u.id, u])).values()];
    if (byId.length === 0) return;
    await this.pool.query(
      `INSERT INTO directory_users AS d (source_id, user_id, name, display_name, real_name, is_bot, deleted, source_time)
       SELECT $1, u.*, $8::timestamptz
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[])
         AS u(user_id, name, display_name, real_name, is_bot, deleted)
       ON CONFLICT (source_id, user_id) DO UPDATE SET
         name = EXCLUDED.name, display_name = EXCLUDED.display_name, real_name = EXCLUDED.real_name,
         is_bot = EXCLUDED.is_bot, deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time,
         updated_at = now()
       WHERE d.source_time <= EXCLUDED.source_time`,
      [
        sourceId,
        byId.map((u) => u.id),
        byId.map((u) => u.name),
        byId.map((u) => u.displayName),
        byId.map((u) => u.realName),
        byId.map((u) => u.isBot),
        byId.map((u) => u.deleted),
        at.toISOString(),
      ],
    );
  }

  private async applyConversations(
    sourceId: number,
    patches: readonly ConversationPatch[],
    at: Date,
  ): Promise<void> {
    const merged = new Map<string, ConversationPatch>();
    for (const p of patches) merged.set(p.id, { ...merged.get(p.id), ...p });
    const rows = [...merged.values()];
    if (rows.length === 0) return;
    // A field the patch does not carry keeps its value and its time; one it carries replaces it
    // unless the stored value is newer.
    await this.pool.query(
      `INSERT INTO directory_conversations AS c
         (source_id, conversation_id, name, kind, archived, name_time, archived_time)
       SELECT $1, v.id, v.name, v.kind, COALESCE(v.archived, false),
              CASE WHEN v.has_name THEN $7::timestamptz END,
              CASE WHEN v.archived IS NOT NULL THEN $7::timestamptz END
       FROM unnest($2::text[], $3::text[], $4::boolean[], $5::text[], $6::boolean[])
         AS v(id, name, has_name, kind, archived)
       ON CONFLICT (source_id, conversation_id) DO UPDATE SET
         name = CASE WHEN EXCLUDED.name_time >= COALESCE(c.name_time, '-infinity') THEN EXCLUDED.name ELSE c.name END,
         name_time = GREATEST(c.name_time, EXCLUDED.name_time),
         kind = COALESCE(EXCLUDED.kind, c.kind),
         archived = CASE WHEN EXCLUDED.archived_time >= COALESCE(c.archived_time, '-infinity')
                         THEN EXCLUDED.archived ELSE c.archived END,
         archived_time = GREATEST(c.archived_time, EXCLUDED.archived_time),
         updated_at = now()`,
      [
        sourceId,
        rows.map((r) => r.id),
        rows.map((r) => r.name ?? null),
        rows.map((r) => r.name !== undefined),
        rows.map((r) => r.kind ?? null),
        rows.map((r) => r.archived ?? null),
        at.toISOString(),
      ],
    );
  }

  async unknown(
    source: SourceRef,
    ids: { readonly users: readonly string[]; readonly conversations: readonly string[] },
  ): Promise<{ users: string[]; conversations: string[] }> {
    if (ids.users.length === 0 && ids.conversations.length === 0) return { users: [], conversations: [] };
    const res = await this.pool.query<{ kind: "user" | "conversation"; id: string }>(
      `SELECT 'user' AS kind, u.user_id AS id FROM directory_users u
         JOIN sources s ON s.id = u.source_id AND s.type = $1 AND s.name = $2
        WHERE u.user_id = ANY($3::text[])
       UNION ALL
       SELECT 'conversation', c.conversation_id FROM directory_conversations c
         JOIN sources s ON s.id = c.source_id AND s.type = $1 AND s.name = $2
        WHERE c.conversation_id = ANY($4::text[]) AND (c.name IS NOT NULL OR c.kind = 'im')`,
      [source.type, source.name, ids.users, ids.conversations],
    );
    const known = new Set(res.rows.map((r) => `${r.kind}:${r.id}`));
    return {
      users: ids.users.filter((id) => !known.has(`user:${id}`)),
      // Known = named (a DM has no name: known once its kind is); an archive event leaves neither.
      conversations: ids.conversations.filter((id) => !known.has(`conversation:${id}`)),
    };
  }

  async setSourceConfig(source: SourceRef, config: Readonly<Record<string, string>>): Promise<void> {
    const sourceId = await upsertSource(this.pool, source);
    await this.pool.query("UPDATE sources SET config = config || $2::jsonb WHERE id = $1", [
      sourceId,
      JSON.stringify(config),
    ]);
  }

  async matchNames(
    kind: "user" | "conversation",
    values: readonly string[],
    sources: readonly string[] | undefined,
  ): Promise<NameMatches[]> {
    if (values.length === 0) return [];
    const params: unknown[] = [[...values], values.map((v) => v.slice(1).toLowerCase())];
    const param = (value: unknown, type: string) => {
      params.push(value);
      return `$${params.length}::${type}`;
    };
    let sourceWhere = "TRUE";
    if (sources && sources.length > 0) {
      const { names, pairs } = splitSourceFilters(sources);
      const alternatives: string[] = [];
      if (names.length > 0) alternatives.push(`s.name = ANY(${param(names, "text[]")})`);
      if (pairs.length > 0)
        alternatives.push(
          `(s.type, s.name) IN (SELECT t, n FROM unnest(${param(
            pairs.map((p) => p.type),
            "text[]",
          )}, ${param(
            pairs.map((p) => p.name),
            "text[]",
          )}) AS p(t, n))`,
        );
      sourceWhere = `(${alternatives.join(" OR ")})`;
    }
    const entries =
      kind === "user"
        ? `SELECT v.value, u.user_id AS id, s.type || ':' || s.name AS source,
                  CASE WHEN lower(u.name) = v.name THEN 'name' ELSE 'display_name' END AS by
           FROM unnest($1::text[], $2::text[]) AS v(value, name)
           JOIN directory_users u ON lower(u.name) = v.name OR lower(u.display_name) = v.name
           JOIN sources s ON s.id = u.source_id
           WHERE ${sourceWhere}`
        : `SELECT v.value, c.conversation_id AS id, s.type || ':' || s.name AS source, 'name' AS by
           FROM unnest($1::text[], $2::text[]) AS v(value, name)
           JOIN directory_conversations c ON lower(c.name) = v.name
           JOIN sources s ON s.id = c.source_id
           WHERE ${sourceWhere}`;
    const column = kind === "user" ? "author" : "channel";
    // One round trip: the directory's matches, and the values messages carry literally (an app's
    // messages may carry the name itself, "#platform": that value still matches them).
    const res = await this.pool.query<{
      value: string;
      id: string | null;
      source: string | null;
      by: "name" | "display_name" | "literal";
    }>(
      `${entries}
       UNION ALL
       SELECT v.value, NULL, NULL, 'literal' FROM unnest($1::text[]) AS v(value)
       WHERE EXISTS (SELECT 1 FROM messages m WHERE m.${column} = v.value)`,
      params,
    );
    const literals = new Set(res.rows.filter((r) => r.by === "literal").map((r) => r.value));
    const found = res.rows.flatMap(({ value, id, source, by }) =>
      by === "literal" || id === null || source === null ? [] : [{ value, id, source, by }],
    );
    return values.map((value) => ({
      value,
      candidates: found.filter((r) => r.value === value).map(({ id, source, by }) => ({ id, source, by })),
      literal: literals.has(value),
    }));
  }

  /**
   * Direct-message conversations (kind `im`) in which one of these people wrote: what `in:@alice`
   * searches. The directory keeps no member list, so a DM in which the person never wrote is missed.
   */
  async directMessageChannels(
    userIds: readonly string[],
    sources: readonly string[] | undefined,
  ): Promise<string[]> {
    if (userIds.length === 0) return [];
    const params: unknown[] = [[...userIds]];
    let sourceWhere = "TRUE";
    if (sources && sources.length > 0) {
      const { names, pairs } = splitSourceFilters(sources);
      const alternatives: string[] = [];
      if (names.length > 0) {
        params.push(names);
        alternatives.push(`s.name = ANY($${params.length}::text[])`);
      }
      if (pairs.length > 0) {
        params.push(pairs.map((p) => `${p.type}:${p.name}`));
        alternatives.push(`s.type || ':' || s.name = ANY($${params.length}::text[])`);
      }
      sourceWhere = `(${alternatives.join(" OR ")})`;
    }
    const res = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT c.conversation_id AS id
         FROM directory_conversations c JOIN sources s ON s.id = c.source_id
        WHERE c.kind = 'im' AND ${sourceWhere}
          AND EXISTS (SELECT 1 FROM messages m
                       WHERE m.source_id = c.source_id AND m.channel = c.conversation_id
                         AND m.author = ANY($1::text[]))`,
      params,
    );
    return res.rows.map((r) => r.id);
  }

  async displayNames(
    source: SourceRef,
    ids: { readonly users: readonly string[]; readonly conversations: readonly string[] },
  ): Promise<{ users: Map<string, string>; conversations: Map<string, string> }> {
    // Mentions show the handle (@alice), as Slack's own clients render them in text.
    const res = await this.pool.query<{ kind: "user" | "conversation"; id: string; name: string }>(
      `SELECT 'user' AS kind, u.user_id AS id, COALESCE(NULLIF(u.name, ''), u.display_name) AS name
         FROM directory_users u JOIN sources s ON s.id = u.source_id AND s.type = $1 AND s.name = $2
        WHERE u.user_id = ANY($3::text[])
       UNION ALL
       SELECT 'conversation', c.conversation_id, c.name
         FROM directory_conversations c JOIN sources s ON s.id = c.source_id AND s.type = $1 AND s.name = $2
        WHERE c.conversation_id = ANY($4::text[])`,
      [source.type, source.name, ids.users, ids.conversations],
    );
    const users = new Map<string, string>();
    const conversations = new Map<string, string>();
    for (const r of res.rows) if (r.name) (r.kind === "user" ? users : conversations).set(r.id, r.name);
    return { users, conversations };
  }
}
