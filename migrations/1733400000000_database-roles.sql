-- Up Migration

-- Least privilege (README "Database roles"). Two group roles hold the grants; the functions' login
-- users are members (the migrate function creates them from their Secrets Manager secrets):
--   trisearch_reader: reads rows (search, GET /gaps, the slash command's search);
--   trisearch_writer: reads and writes rows (ingest, the workers, the relay, the reconciler, imports).
-- Neither may change the schema: the migrating user owns every table. Roles belong to the cluster,
-- not the database, so creating one tolerates its existence (and a concurrent migration elsewhere).
DO $$
BEGIN
  CREATE ROLE trisearch_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  CREATE ROLE trisearch_writer NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO trisearch_reader, trisearch_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO trisearch_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO trisearch_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO trisearch_writer;
-- The migration bookkeeping is the owner's alone.
REVOKE ALL ON pgmigrations FROM trisearch_reader, trisearch_writer;

-- Tables and sequences that later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO trisearch_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO trisearch_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO trisearch_writer;

-- Down Migration
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM trisearch_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM trisearch_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM trisearch_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM trisearch_writer;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM trisearch_reader, trisearch_writer;
REVOKE USAGE ON SCHEMA public FROM trisearch_reader, trisearch_writer;
