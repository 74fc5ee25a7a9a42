-- Up Migration

-- The reads every search makes for the rows it shows, as PL/pgSQL functions because PL/pgSQL keeps
-- a query's plan per connection: sent as plain statements, planning cost PostgreSQL more CPU than
-- executing them (bench/README.md, search). A named prepared statement would do the same but pins
-- every connection to one backend behind RDS Proxy; a function call is a plain statement to it.

-- Live rows by id, with the author's and channel's names from the directory at read time (a rename
-- shows without re-indexing anything): PgMessageStore.liveMessages.
CREATE OR REPLACE FUNCTION live_messages(ids bigint[])
RETURNS TABLE (
  id bigint, source_id bigint, source_type text, source_name text, external_id text, channel text,
  author text, content text, "timestamp" timestamptz, thread_id text, message_metadata jsonb,
  embedding_id text, version bigint, content_hash text, deleted_at timestamptz,
  author_name text, channel_name text, workspace_domain text
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  SELECT m.id, m.source_id, s.type, s.name, m.external_id, m.channel, m.author, m.content, m."timestamp",
         m.thread_id, m.message_metadata, m.embedding_id, m.version, m.content_hash, m.deleted_at,
         COALESCE(NULLIF(du.display_name, ''), NULLIF(du.real_name, ''), du.name),
         dc.name, s.config->>'workspace_domain'
  FROM messages m JOIN sources s ON s.id = m.source_id
  LEFT JOIN directory_users du ON du.source_id = m.source_id AND du.user_id = m.author
  LEFT JOIN directory_conversations dc ON dc.source_id = m.source_id AND dc.conversation_id = m.channel
  WHERE m.id = ANY(ids) AND m.deleted_at IS NULL;
END $$;

-- The page of a thread-grouped search in one read (PgMessageStore.liveMessagesWithThreads): the live
-- rows of the hits and of their threads' live parents, and for each live hit its thread's live
-- parent and live reply count. Threads are what the messages say: replies carry thread_id = the
-- parent's external id (which the parent carries too), within one source and channel (PgThreadReader).
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
  SELECT l.*, t.parent_id, t.replies
  FROM live_messages(ARRAY(
    SELECT hit.id FROM hit UNION SELECT thread.parent_id FROM thread WHERE thread.parent_id IS NOT NULL
  )) l
  LEFT JOIN thread t ON t.id = l.id;
END $$;

-- Down Migration
DROP FUNCTION search_page_rows(bigint[]);
DROP FUNCTION live_messages(bigint[]);
