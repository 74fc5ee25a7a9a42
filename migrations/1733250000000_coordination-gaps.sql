-- Up Migration

-- Coordination gaps as the scheduled function computes them (functions/core/gaps/), so GET /gaps
-- reads a finished computation instead of running one per request.
CREATE TABLE gap_runs (
  id           bigserial PRIMARY KEY,
  window_since timestamptz NOT NULL,
  window_until timestamptz NOT NULL,
  computed_at  timestamptz NOT NULL DEFAULT now(),
  -- What the run read and found (messages, queries per leg, threshold, timings).
  stats        jsonb NOT NULL
);

CREATE TABLE coordination_gaps (
  run_id   bigint NOT NULL REFERENCES gap_runs (id) ON DELETE CASCADE,
  rank     integer NOT NULL,
  gap_key  text NOT NULL,
  channels text[] NOT NULL,
  first_at timestamptz NOT NULL,
  last_at  timestamptz NOT NULL,
  score    double precision NOT NULL,
  -- The whole gap (label, sides, people, representative messages, score parts).
  gap      jsonb NOT NULL,
  PRIMARY KEY (run_id, rank)
);
CREATE INDEX coordination_gaps_channels_idx ON coordination_gaps USING gin (channels);

-- Down Migration
DROP TABLE coordination_gaps;
DROP TABLE gap_runs;
