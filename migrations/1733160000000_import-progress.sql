-- Up Migration

-- Day files of an export already committed by an import run (the run key names the object and its
-- version, e.g. s3://bucket/key#etag), so a run cut short (a function's deadline, a crash) resumes
-- after them. Re-importing a file would change nothing either; skipping it saves the time.
CREATE TABLE import_files_done (
  run_key     text        NOT NULL,
  file        text        NOT NULL,
  done_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_key, file)
);

-- Down Migration
DROP TABLE import_files_done;
