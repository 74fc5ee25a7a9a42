-- Up Migration

-- Message context (functions/core/message-context.ts) reads a message's neighbours in its
-- conversation (the channel's top level, or a thread) in time order, and a write finds the
-- messages whose context it changes the same way: both are range scans on this index.
CREATE INDEX messages_conversation_idx ON messages (source_id, channel, thread_id, "timestamp", id);

-- Down Migration
DROP INDEX messages_conversation_idx;
