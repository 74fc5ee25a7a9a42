import type { IndexJob, IndexTarget, LegHit, SearchFilters, StoredMessage } from "./model";

/** Turns texts into fixed-dimension, L2-normalised vectors. */
export interface Embedder {
  /** Identifies the model (and its dimension) so vectors from different models never mix. */
  readonly modelId: string;
  readonly dimension: number;
  embed(texts: readonly string[]): Promise<number[][]>;
}

/** Publishes claim-check jobs to the keyword or vector queue. */
export interface JobPublisher {
  /** Returns the ids (the caller's entry ids) that the queue accepted. */
  publish(target: IndexTarget, entries: readonly { id: string; job: IndexJob }[]): Promise<Set<string>>;
}

/** Keyword (BM25) index, fed from PostgreSQL rows. */
export interface KeywordIndex {
  /** Writes each row at its version; an older version never overwrites a newer one. */
  upsert(rows: readonly StoredMessage[]): Promise<IndexWriteOutcome[]>;
  remove(jobs: readonly { messageId: number; version: number }[]): Promise<IndexWriteOutcome[]>;
  count(): Promise<number>;
}

/** Vector index, fed from PostgreSQL rows and the Embedder. */
export interface VectorIndex {
  upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]): Promise<void>;
  remove(messageIds: readonly number[]): Promise<void>;
  query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]>;
  count(): Promise<number>;
}

export interface IndexWriteOutcome {
  readonly messageId: number;
  readonly ok: boolean;
  /** Set when !ok: whether a later attempt may succeed. */
  readonly retryable?: boolean;
  readonly error?: string;
}

export type { IndexJob, IndexTarget };
