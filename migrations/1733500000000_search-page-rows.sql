-- Up Migration

-- The page of a thread-grouped search in one read (PgMessageStore.liveMessagesWithThreads): the live
-- rows of the hits and of their threads' live parents, with names from the directory, and for each
-- live hit its thread's live parent and live reply count. A function because PL/pgSQL keeps the
-- query's plan per connection: sent as a plain statement, planning cost PostgreSQL ~0.6 ms more CPU
-- per search than executing it (bench/README.md, search); a named prepared statement would do the
-- same but pins every connection to one backend behind RDS Proxy. Threads are what the messages
-- say: replies carry thread_id = the parent's external id (which the parent carries too), within
-- one source and channel (PgThreadReader).
CREATE OR REPLACE FUNCTION search_page_rows(hit_ids bigint[])
RETURNS TABLE (
  id bigint, source_id bigint, source_type text, source_name text, external_id text, channel text,
  author text, content text, "timestamp" timestamptz, thread_id text, message_metadata jsonb,
  embedding_id text, version bigint, content_hash text, deleted_at timestamptz,
  author_name text, channel_name text, workspace_domain text, parent_id bigint, replies bigint
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  WITH hit AS (
    SELECT h.id, h.source_id, h.channel, COALESCE(h.thread_id, h.external_id) AS root
    FROM messages h WHERE h.id = ANY(hit_ids) AND h.deleted_at IS NULL
  ), thread AS (
    SELECT hit.id,
           (SELECT p.id FROM messages p
             WHERE p.source_id = hit.source_id AND p.external_id = hit.root AND p.deleted_at IS NULL) AS parent_id,
           (SELECT count(*) FROM messages r
             WHERE r.source_id = hit.source_id AND r.channel = hit.channel AND r.thread_id = hit.root
               AND r.external_id <> hit.root AND r.deleted_at IS NULL) AS replies
    FROM hit
  )
  SELECT m.id, m.source_id, s.type, s.name, m.external_id, m.channel, m.author, m.content, m."timestamp",
         m.thread_id, m.message_metadata, m.embedding_id, m.version, m.content_hash, m.deleted_at,
         COALESCE(NULLIF(du.display_name, ''), NULLIF(du.real_name, ''), du.name),
         dc.name, s.config->>'workspace_domain', t.parent_id, t.replies
  FROM messages m JOIN sources s ON s.id = m.source_id
  LEFT JOIN directory_users du ON du.source_id = m.source_id AND du.user_id = m.author
  LEFT JOIN directory_conversations dc ON dc.source_id = m.source_id AND dc.conversation_id = m.channel
  LEFT JOIN thread t ON t.id = m.id
  WHERE m.deleted_at IS NULL
    AND m.id IN (SELECT hit.id FROM hit UNION SELECT thread.parent_id FROM thread WHERE thread.parent_id IS NOT NULL);
END $$;

-- Down Migration
DROP FUNCTION search_page_rows(bigint[]);
