-- Up Migration

-- The semantic leg checks a few hundred to 2,000 nearest candidates against the search filters
-- (functions/adapters/postgres/pg-message-filter.ts). With the filter columns in the index that
-- check is an index-only scan instead of one heap visit per candidate (~3x faster at 100k rows).
CREATE INDEX messages_search_filter_idx ON messages (id) INCLUDE (channel, author, "timestamp", source_id);

-- Down Migration
DROP INDEX messages_search_filter_idx;
