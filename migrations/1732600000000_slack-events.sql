-- Up Migration

-- Events already applied (Slack's event_id). Inserted in the same transaction as the event's
-- effect, so a Slack retry or an SQS redelivery finds its id and changes nothing.
CREATE TABLE processed_events (
  event_id      text        PRIMARY KEY,
  processed_at  timestamptz NOT NULL DEFAULT now()
);

-- Retries stop after hours (Slack) or days (SQS retention): old ids can be pruned by age.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);

-- The source's own time of the newest change applied to the row (Slack: ts of the message or
-- of its edit). An event older than this is stale and is not applied, whatever its arrival order.
ALTER TABLE messages ADD COLUMN source_updated_at timestamptz;

-- A source said "deleted": final, even when the delete arrives before the message itself
-- (no row yet) or an older edit arrives after it.
CREATE TABLE source_tombstones (
  source_id    bigint      NOT NULL REFERENCES sources (id),
  external_id  text        NOT NULL,
  deleted_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, external_id)
);

-- Down Migration
DROP TABLE source_tombstones;
ALTER TABLE messages DROP COLUMN source_updated_at;
DROP TABLE processed_events;
