-- Up Migration

-- Who is who in a source (a Slack workspace): messages keep the source's ids (author, channel),
-- results and filters show and accept these names, so a rename never re-indexes a message.
-- Each field carries the source time it was last set at: events arrive out of order, the newest wins.
CREATE TABLE directory_users (
  source_id     bigint      NOT NULL REFERENCES sources (id),
  user_id       text        NOT NULL,
  name          text,
  display_name  text,
  real_name     text,
  is_bot        boolean     NOT NULL DEFAULT false,
  deleted       boolean     NOT NULL DEFAULT false,
  source_time   timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, user_id)
);

-- Filters resolve "@alice" by handle or display name, case-insensitively.
CREATE INDEX directory_users_name_idx ON directory_users (lower(name));
CREATE INDEX directory_users_display_name_idx ON directory_users (lower(display_name));

-- Conversation events are partial (a rename carries the name, an archive only the id), so name
-- and archived have their own source times; kind is null until something says what it is.
CREATE TABLE directory_conversations (
  source_id        bigint      NOT NULL REFERENCES sources (id),
  conversation_id  text        NOT NULL,
  name             text,
  kind             text        CHECK (kind IN ('public', 'private', 'im', 'mpim')),
  archived         boolean     NOT NULL DEFAULT false,
  name_time        timestamptz,
  archived_time    timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, conversation_id)
);

CREATE INDEX directory_conversations_name_idx ON directory_conversations (lower(name));

-- Down Migration
DROP TABLE directory_conversations;
DROP TABLE directory_users;
