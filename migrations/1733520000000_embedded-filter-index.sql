-- Up Migration

-- The semantic leg's selective filters list every live embedded message that matches, with its
-- vector version (pg-message-filter.ts embeddedMatching; the exact scan of vector-cache.ts). A
-- viewer's channels with a date range combined the channel and timestamp indexes (a BitmapAnd over
-- ~10k and ~33k entries) and visited the heap for 3,300 rows: ~9.7 ms at 100k messages. This index
-- answers the channel list and the range from its own entries (an index-only scan): ~0.8 ms.
CREATE INDEX messages_embedded_filter_idx ON messages (channel, "timestamp")
  INCLUDE (id, author, source_id, vector_version) WHERE deleted_at IS NULL;

-- Down Migration
DROP INDEX messages_embedded_filter_idx;
