-- Up Migration

-- Who may read a conversation (functions/core/access/access.ts): its audience and its members,
-- kept beside the messages and read at query time, so a membership change never re-indexes.
-- Each fact carries the source time it was true at; an older fact arriving later changes nothing.
CREATE TABLE conversation_access (
  source_id        bigint      NOT NULL REFERENCES sources (id),
  conversation_id  text        NOT NULL,
  audience         text        NOT NULL CHECK (audience IN ('everyone', 'workspace', 'members')),
  audience_time    timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, conversation_id)
);

CREATE INDEX conversation_access_open_idx ON conversation_access (audience, source_id)
  WHERE audience <> 'members';

CREATE TABLE conversation_members (
  source_id        bigint      NOT NULL REFERENCES sources (id),
  conversation_id  text        NOT NULL,
  principal        text        NOT NULL,
  member           boolean     NOT NULL,
  member_time      timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, conversation_id, principal)
);

-- A search resolves its viewer's conversations through this.
CREATE INDEX conversation_members_principal_idx ON conversation_members (principal) WHERE member;

-- What was known before: Slack conversations by their kind, every other source's conversations
-- public (the documented default for a source that declares nothing). '-infinity': any real fact wins.
INSERT INTO conversation_access (source_id, conversation_id, audience, audience_time)
SELECT c.source_id, c.conversation_id,
       CASE WHEN c.kind = 'public' THEN 'workspace' ELSE 'members' END, '-infinity'
FROM directory_conversations c
WHERE c.kind IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO conversation_access (source_id, conversation_id, audience, audience_time)
SELECT DISTINCT m.source_id, m.channel, 'everyone', '-infinity'::timestamptz
FROM messages m JOIN sources s ON s.id = m.source_id
WHERE s.type <> 'slack'
ON CONFLICT DO NOTHING;

-- Down Migration
DROP TABLE conversation_members;
DROP TABLE conversation_access;
