-- Up Migration

-- The conversations a principal may read (PgConversationAccess.visibleConversations), read at the
-- start of every scoped search. A PL/pgSQL function for the same reason as search_page_rows: its
-- plan is kept per connection, and planning this statement cost PostgreSQL more CPU than running
-- it (0.33-0.53 against 0.10-0.13 ms per search, bench/README.md, search), without a prepared
-- statement that would pin connections behind RDS Proxy.
-- Members see their conversations (unless the source marks them deleted); a workspace's people
-- (its directory: users.json, team_join, user_change) see its public channels; everyone sees what
-- is open to everyone. Membership of a shared channel alone (a Slack Connect guest from another
-- organisation) opens that channel only, never the workspace's public channels.
CREATE OR REPLACE FUNCTION visible_conversations(viewer text)
RETURNS TABLE (type text, name text, conversation_id text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  WITH mine AS (
    SELECT m.source_id, m.conversation_id FROM conversation_members m
    WHERE m.principal = viewer AND m.member
      AND NOT EXISTS (SELECT 1 FROM directory_users d
                      WHERE d.source_id = m.source_id AND d.user_id = m.principal AND d.deleted)
  ), workspaces AS (
    SELECT u.source_id FROM directory_users u WHERE u.user_id = viewer AND NOT u.deleted
  )
  SELECT s.type, s.name, v.conversation_id FROM (
    SELECT mine.source_id, mine.conversation_id FROM mine
    UNION
    SELECT a.source_id, a.conversation_id FROM conversation_access a
    WHERE a.audience = 'everyone'
       OR (a.audience = 'workspace' AND a.source_id IN (SELECT workspaces.source_id FROM workspaces))
  ) v JOIN sources s ON s.id = v.source_id;
END $$;

-- Down Migration
DROP FUNCTION visible_conversations(text);
