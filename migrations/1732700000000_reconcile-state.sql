-- Up Migration

-- Reconciler state: its resumable cursor ("reconcile") and the vector collection registry
-- ("vector_collections"). A lease keeps two runs (schedule, CLI) from clobbering one cursor.
CREATE TABLE reconcile_state (
  name         text        PRIMARY KEY,
  cursor       jsonb       NOT NULL DEFAULT '{}'::jsonb,
  lease_owner  text,
  lease_until  timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Repairs skip messages that already have an unsent job for the same index.
CREATE INDEX outbox_unsent_message_idx ON outbox (message_id, target) WHERE sent_at IS NULL;

-- Down Migration
DROP INDEX outbox_unsent_message_idx;
DROP TABLE reconcile_state;
