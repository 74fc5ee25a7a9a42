/** Domain model shared by every use case. Plain data, no driver types. */

export interface SourceRef {
  readonly type: string;
  readonly name: string;
}

/** A message as an app or Slack submits it (before it has a database id). */
export interface MessageInput {
  readonly externalId: string;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: Date;
  readonly threadId?: string | null;
  readonly metadata?: Record<string, unknown>;
}

/** The current row in PostgreSQL, the source of truth. */
export interface StoredMessage {
  readonly id: number;
  readonly sourceId: number;
  readonly source: SourceRef;
  readonly externalId: string;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: Date;
  readonly threadId: string | null;
  readonly metadata: Record<string, unknown>;
  readonly embeddingId: string | null;
  /** Increases on every change (content, fields, delete); indexes apply it as an external version. */
  readonly version: number;
  readonly contentHash: string;
  readonly deletedAt: Date | null;
}

/** Filters that both search legs apply inside their own query. */
export interface SearchFilters {
  readonly channels?: readonly string[];
  readonly authors?: readonly string[];
  /** Source names (e.g. "acme") or "type:name" pairs. */
  readonly sources?: readonly string[];
  readonly from?: Date;
  readonly to?: Date;
  /** `-in:`: messages in none of these channels. */
  readonly excludeChannels?: readonly string[];
  /** `-from:`: messages by none of these authors. */
  readonly excludeAuthors?: readonly string[];
  /** `to:`: messages that mention any of these user ids (message-features.ts). */
  readonly mentions?: readonly string[];
  /** `has:`: messages that have every one of these. */
  readonly has?: readonly MessageFeature[];
  /** `is:thread`: messages that carry a thread id. */
  readonly inThread?: boolean;
}

/** What `has:` asks of a message (message-features.ts decides it, the same way in every store). */
export type MessageFeature = "link" | "reaction" | "file";

/** One ranked hit from one leg: ranks are 1-based positions in that leg's list. */
export interface LegHit {
  readonly messageId: number;
  readonly score: number;
}

export type SearchStrategy = "hybrid" | "bm25" | "semantic";

/**
 * Who a read runs for: a Slack user id or another source's principal (core/access/access.ts finds
 * the conversations they may read).
 */
export interface Viewer {
  readonly userId: string;
  /** The user's workspace (Slack team id), when the request came from Slack. */
  readonly teamId?: string;
}
export type LegName = "bm25" | "semantic";

/** Which index a queue message targets. */
export type IndexTarget = "keyword" | "vector";

/** Claim check carried on the keyword and vector queues: workers re-read the row. */
export interface IndexJob {
  readonly messageId: number;
  readonly op: "upsert" | "delete";
  readonly version: number;
}
