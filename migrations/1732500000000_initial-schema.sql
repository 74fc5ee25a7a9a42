-- Up Migration

-- Where messages come from (a Slack workspace, an app). One row per (type, name).
CREATE TABLE sources (
  id          bigserial PRIMARY KEY,
  type        text        NOT NULL,
  name        text        NOT NULL,
  config      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sources_type_name_key UNIQUE (type, name)
);

-- The source of truth. Indexes hold copies; their applied versions are tracked here.
CREATE TABLE messages (
  id                bigserial PRIMARY KEY,
  source_id         bigint      NOT NULL REFERENCES sources (id),
  external_id       text        NOT NULL,
  content           text        NOT NULL,
  author            text        NOT NULL,
  channel           text        NOT NULL,
  "timestamp"       timestamptz NOT NULL,
  thread_id         text,
  message_metadata  jsonb       NOT NULL DEFAULT '{}'::jsonb,
  embedding_id      text,
  -- Bumped on every change (fields or delete); used as the external version in both indexes.
  version           bigint      NOT NULL DEFAULT 1,
  -- sha256 of every indexed field: an identical re-send is detected without comparing columns.
  content_hash      text        NOT NULL,
  deleted_at        timestamptz,
  keyword_version   bigint,
  vector_version    bigint,
  vector_model      text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_source_external_key UNIQUE (source_id, external_id)
);

CREATE INDEX messages_channel_idx   ON messages (channel);
CREATE INDEX messages_author_idx    ON messages (author);
CREATE INDEX messages_timestamp_idx ON messages ("timestamp");
CREATE INDEX messages_source_idx    ON messages (source_id);
-- The reconciler looks for rows an index has not caught up with.
CREATE INDEX messages_keyword_lag_idx ON messages (id) WHERE keyword_version IS DISTINCT FROM version;
CREATE INDEX messages_vector_lag_idx  ON messages (id) WHERE vector_version IS DISTINCT FROM version;

-- Transactional outbox: written in the same transaction as the message change, so a change
-- is never committed without its index jobs (and never published without being committed).
CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  message_id  bigint      NOT NULL,
  target      text        NOT NULL CHECK (target IN ('keyword', 'vector')),
  op          text        NOT NULL CHECK (op IN ('upsert', 'delete')),
  version     bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz,
  attempts    integer     NOT NULL DEFAULT 0,
  last_error  text
);

CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;

-- Down Migration
DROP TABLE outbox;
DROP TABLE messages;
DROP TABLE sources;
