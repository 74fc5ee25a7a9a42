import type { LegHit, SourceRef } from "../model";
import type { VectorSearch } from "../ports";
import type { CoordinationGap } from "./gap";

/** A live message in the window, as gap detection reads it from the source of truth. */
export interface WindowMessage {
  readonly id: number;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: Date;
  readonly threadId: string | null;
  /** Link to the message in its source (metadata.permalink), when the source gave one. */
  readonly permalink: string | null;
  /**
   * The source it came from: two sources may use one channel id, and who may read a conversation is
   * decided per (source, channel). Absent only in recordings and fixtures made without it.
   */
  readonly source?: SourceRef;
}

export interface GapWindow {
  readonly since: Date;
  readonly until: Date;
}

/** The window's messages (PostgreSQL): only the window is read. */
export interface WindowMessageSource {
  windowMessages(window: GapWindow): Promise<WindowMessage[]>;
  /** The newest live message's time (null: no messages), where a default window ends. */
  newestMessageAt(): Promise<Date | null>;
}

/** The vector store as gap detection reads it (the active collection). */
interface WindowVectors {
  /** Stored vectors of the given messages; messages without one are absent. */
  vectorsOf(messageIds: readonly number[]): Promise<Map<number, Float32Array>>;
  /** The unfiltered nearest neighbours of each query vector (one round trip per call), best first. */
  nearestMany(queries: readonly Float32Array[], limit: number): Promise<LegHit[][]>;
  /** Vectors in the collection (the denominator of a filter's share). */
  count(): Promise<number>;
}

/** One BM25 more-like-this question: messages sharing the rare terms of `like`, outside its conversation. */
export interface MoreLikeThisQuery {
  readonly like: readonly number[];
  readonly excludeChannels: readonly string[];
  readonly window: GapWindow;
  readonly size: number;
}

/** The keyword index's more-like-this (OpenSearch picks each message's distinctive terms). */
export interface SimilarMessages {
  /** One answer per query, same order; many queries per round trip. */
  moreLikeThis(queries: readonly MoreLikeThisQuery[]): Promise<LegHit[][]>;
}

export interface GapDetectionPorts {
  readonly messages: WindowMessageSource;
  readonly vectors: WindowVectors;
  /** The semantic leg with its filter paths (filtered-vector-search.ts), for seeds whose neighbours the unfiltered batch did not settle. */
  readonly semantic: VectorSearch;
  readonly keyword: SimilarMessages;
  /** Links to messages in their source (Slack permalinks), for the representatives shown; absent ids have none. */
  readonly permalinks?: (messageIds: readonly number[]) => Promise<Map<number, string>>;
}

/** One stored computation: the schedule writes it, GET /gaps reads it. */
export interface StoredGapRun {
  readonly id: number;
  readonly window: GapWindow;
  readonly computedAt: Date;
  readonly gaps: readonly CoordinationGap[];
}

/** Where computed gaps are kept (PostgreSQL). */
export interface GapStore {
  /** Saves one run; the API then reads it as the latest. */
  saveRun(run: Omit<StoredGapRun, "id">, stats: unknown): Promise<number>;
  /** The latest run, its gaps filtered: overlapping [since, until], with a side in one of `channels`. */
  latestRun(filter: {
    since?: Date;
    until?: Date;
    channels?: readonly string[];
    limit: number;
  }): Promise<StoredGapRun | null>;
  /** Every message id in the latest run's gaps (empty before the first run): what the digest compares. */
  latestRunMessageIds(): Promise<Set<number>>;
}
