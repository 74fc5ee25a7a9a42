import type {
  IndexJob,
  IndexTarget,
  LegHit,
  MessageInput,
  SearchFilters,
  SourceRef,
  StoredMessage,
} from "./model";
import type { HitFacts } from "./search/grouping";
import type { MessageFacets } from "./search/message-features";
import type { QueryNode } from "./search/query-parser";
import type { EmbeddedRef } from "./search/vector-cache";
import type { SlackChannelMessage, SlackResponseMessage } from "./slack/block-kit";
import type { SourceChange, SourceChangeOutcome } from "./source-change";

/** Turns texts into fixed-dimension, L2-normalised vectors. */
export interface Embedder {
  /** Identifies the model (and its dimension) so vectors from different models never mix. */
  readonly modelId: string;
  readonly dimension: number;
  /** Documents for the index (workers, reindex): batched for throughput. */
  embed(texts: readonly string[]): Promise<number[][]>;
  /** One search query: tuned for latency (the same model and vector space as `embed`). */
  embedQuery(text: string): Promise<number[]>;
  /**
   * Document texts embedded while a search waits (snippet windows): like `embed`, on the query path's
   * resources (one ONNX thread: a 2-thread session spins and cost ~3x the CPU at the search's
   * concurrency; Bedrock's fail-fast query client).
   */
  embedForSearch(texts: readonly string[]): Promise<number[][]>;
}

/** One queue message: several claim-check jobs for the same target (fewer receives and deletes per job). */
export interface JobMessage {
  /** Unique within one publish call; the caller maps it back to the outbox rows it carries. */
  readonly id: string;
  readonly jobs: readonly IndexJob[];
}

/** Publishes claim-check jobs to the keyword or vector queue. */
export interface JobPublisher {
  /** The most jobs one message may carry (the relay packs up to this many). */
  readonly jobsPerMessage: number;
  /** Sends each message as one queue message; returns the ids of the messages the queue accepted. */
  publish(target: IndexTarget, messages: readonly JobMessage[]): Promise<Set<string>>;
}

/** Keyword (BM25) index, fed from PostgreSQL rows. */
export interface KeywordIndex {
  /**
   * Writes each row at its version; an older version never overwrites a newer one. `contexts` holds
   * each row's context text (message-context.ts), indexed apart from the content; `facets` what
   * `to:` and `has:` filter on, from the raw row when `rows` were rendered (default: from `rows`).
   */
  upsert(
    rows: readonly StoredMessage[],
    contexts?: ReadonlyMap<number, string>,
    facets?: ReadonlyMap<number, MessageFacets>,
  ): Promise<IndexWriteOutcome[]>;
  remove(jobs: readonly { messageId: number; version: number }[]): Promise<IndexWriteOutcome[]>;
  count(): Promise<number>;
}

/** The keyword index as reconciliation walks it (a separate port, so write-only fakes stay valid). */
export interface ReconcilableKeywordIndex extends KeywordIndex {
  /** The next page of (id, version) in ascending message id, strictly after `afterId`; [] when done. */
  listVersions(afterId: number, limit: number): Promise<IndexedVersion[]>;
}

/** Vector index, fed from PostgreSQL rows and the Embedder. */
export interface VectorIndex {
  upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]): Promise<void>;
  remove(messageIds: readonly number[]): Promise<void>;
  query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]>;
  count(): Promise<number>;
}

/** The vector index as reconciliation walks it. */
export interface ReconcilableVectorIndex extends VectorIndex {
  /** One page of stored versions by offset (storage order, stable while nothing is written). */
  listVersions(offset: number, limit: number): Promise<IndexedVersion[]>;
  /** Stored versions of the given messages; ids not in the index are absent from the map. */
  getVersions(messageIds: readonly number[]): Promise<Map<number, IndexedVersion>>;
}

/**
 * One embedding model's vectors in a vector store (a Chroma collection, an OpenSearch k-NN index):
 * what the composition root, the reconciler, reindex and gap detection use, whichever store it is.
 */
export interface VectorCollection extends ReconcilableVectorIndex, NearestVectors {
  readonly collectionName: string;
  /**
   * True when `query` applies every SearchFilters field inside the store's own nearest-neighbour
   * search (OpenSearch k-NN efficient filtering): the semantic leg then needs no PostgreSQL pre-check.
   */
  readonly filtersInStore: boolean;
  exists(): Promise<boolean>;
  /** The model recorded when the collection was created (null: none recorded, or no collection yet). */
  collectionModel(): Promise<{ modelId: string; dimension: number } | null>;
  ensureCollection(): Promise<unknown>;
  deleteCollection(): Promise<void>;
  /** The unfiltered nearest neighbours of each query vector, best first per query. */
  nearestMany(queries: readonly Float32Array[], limit: number): Promise<LegHit[][]>;
}

/** What an index holds for one message, as reconciliation compares it with PostgreSQL. */
export interface IndexedVersion {
  readonly messageId: number;
  readonly version: number;
  /** Vector index only: the embedding model that produced the vector. */
  readonly model?: string;
}

export interface IndexWriteOutcome {
  readonly messageId: number;
  readonly ok: boolean;
  /** Set when !ok: whether a later attempt may succeed. */
  readonly retryable?: boolean;
  readonly error?: string;
}

/** What happened to one submitted message. */
export interface IngestOutcome {
  readonly externalId: string;
  readonly messageId: number;
  readonly status: "created" | "updated" | "unchanged";
  readonly version: number;
}

/** A pending index job in the transactional outbox. */
export interface OutboxEntry {
  readonly id: number;
  readonly target: IndexTarget;
  readonly job: IndexJob;
}

/** PostgreSQL, the source of truth. Every change writes its outbox rows in the same transaction. */
export interface MessageStore {
  /** Upserts a batch atomically; returns one outcome per input (same order) and the outbox ids written. */
  ingest(
    source: SourceRef,
    messages: readonly MessageInput[],
  ): Promise<{ outcomes: IngestOutcome[]; outboxIds: number[] }>;
  /** Soft-deletes; null when the message does not exist. Deleting twice is a no-op. */
  softDelete(messageId: number): Promise<{ version: number; outboxIds: number[]; changed: boolean } | null>;
  /** Current rows, including soft-deleted ones (workers need to see deletes). */
  getByIds(ids: readonly number[]): Promise<StoredMessage[]>;
  /** Records that an index now holds these versions (never moves a recorded version backwards). */
  recordApplied(
    target: IndexTarget,
    applied: readonly { messageId: number; version: number; embeddingId?: string | null; model?: string }[],
  ): Promise<void>;
  /** Live (not deleted) message count. */
  countLive(): Promise<number>;
}

/** The outbox side of the store, used by the relay. */
export interface OutboxStore {
  /**
   * Locks up to `limit` unsent entries (only `ids` when given), hands them to `publish`, and marks
   * sent exactly the ids it returns; the others stay pending with their attempt counted.
   */
  drain(
    opts: { limit: number; ids?: readonly number[] },
    publish: (entries: readonly OutboxEntry[]) => Promise<Set<number>>,
  ): Promise<{ sent: number; failed: number }>;
  countPending(): Promise<number>;
}

/**
 * The keyword index's upkeep beside its data: what reconcile, the CLI (verify, reindex) and the
 * benches ask of it. Writes create the index with its mapping; search treats a missing one as empty.
 */
export interface KeywordIndexUpkeep {
  readonly indexName: string;
  /** Creates the index with its mapping if absent. */
  ensureIndex(): Promise<void>;
  /** Deletes and recreates the index with the current mapping (empty). */
  rebuildIndex(): Promise<void>;
  /** "product": the mapping this code writes; "outdated": another context policy's; "foreign": not ours. */
  mappingState(): Promise<"missing" | "product" | "outdated" | "foreign">;
  exists(): Promise<boolean>;
  /** Makes recent writes visible to search. */
  refresh(): Promise<void>;
  /** Documents in the index; `refresh` first makes recent writes count. */
  count(refresh?: boolean): Promise<number>;
  /** Deletes the index (its template stays: the next write recreates it with the mapping). */
  deleteIndex(): Promise<void>;
  deleteIndexAndTemplate(): Promise<void>;
}

/** The BM25 leg of search. */
export interface KeywordSearch {
  search(query: QueryNode, filters: SearchFilters, size: number): Promise<LegHit[]>;
}

/** The semantic leg of search. */
export interface VectorSearch {
  query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]>;
}

/**
 * The semantic leg's model and store, resolved together: query vectors must come from the model
 * whose vectors the store holds (during a model switch, the previous model's).
 */
export interface SemanticLeg {
  readonly embedder: Embedder;
  readonly vector: VectorSearch;
}

/** A vector store's search: under its own filter (`query`), or among given messages only. */
export interface NearestVectors extends VectorSearch {
  /** Nearest among `messageIds`; fails if one of them has no vector in the store. */
  queryAmong(embedding: number[], messageIds: readonly number[], limit: number): Promise<LegHit[]>;
  /** Stored vectors of the given messages; ids without a vector are absent. */
  vectorsOf(messageIds: readonly number[]): Promise<Map<number, Float32Array>>;
}

/** A live message joined with its source, as search results show it. */
export interface EnrichedMessage {
  readonly id: number;
  /** The id in the source system (Slack ts, a test collection's document id). */
  readonly externalId: string;
  readonly content: string;
  readonly author: string;
  readonly channel: string;
  readonly timestamp: Date;
  readonly threadId: string | null;
  readonly source: SourceRef;
  readonly metadata: Record<string, unknown>;
  /** The author's and channel's names from the directory (absent: the reader has no directory). */
  readonly authorName?: string | null;
  readonly channelName?: string | null;
  /** The source's workspace domain (Slack), for permalinks. */
  readonly workspaceDomain?: string | null;
}

/** Enrichment: one round trip per call; deleted or missing ids are simply absent. */
export interface MessageReader {
  liveMessages(ids: readonly number[]): Promise<Map<number, EnrichedMessage>>;
  /**
   * The page of a thread-grouped search in one read: the live rows of `ids` and of their threads'
   * live parents, and the thread of each live row of `ids`. One round trip instead of two: at 8
   * concurrent searches on 2 cores each PostgreSQL round trip is CPU at both ends (bench/README.md).
   */
  liveMessagesWithThreads(ids: readonly number[]): Promise<PageRows>;
}

/** A hit's thread: its live parent (itself when it is the parent; null when gone) and live reply count. */
export interface HitThread {
  readonly parentId: number | null;
  readonly replyCount: number;
}

export interface PageRows {
  readonly rows: Map<number, EnrichedMessage>;
  readonly threads: Map<number, HitThread>;
}

/** Threads and neighbours of search hits (thread grouping, `context=N`); ids only. */
export interface ThreadReader {
  /** Facts of these messages' rows, deleted rows included; an id without a row is absent. */
  facts(ids: readonly number[]): Promise<Map<number, HitFacts>>;
  /**
   * For each message: up to `n` live messages before and after it (oldest first), in its thread when
   * it is in one, else among its channel's top-level messages.
   */
  around(ids: readonly number[], n: number): Promise<Map<number, { before: number[]; after: number[] }>>;
  /** Facts a later read proved out of date (a hit deleted since): a reader that keeps facts reads them again. */
  forget?(ids: readonly number[]): void;
}

/** Search filters answered by the source of truth for the semantic leg (filtered-vector-search.ts). */
export interface MessageFilter {
  /** The ids among `ids` whose rows match every filter (deleted rows included: enrichment drops them). */
  matching(ids: readonly number[], filters: SearchFilters): Promise<Set<number>>;
  /** The estimated share (0..1) of all messages that match, without scanning; undefined if unknown. */
  estimatedShare(filters: SearchFilters): Promise<number | undefined>;
  /**
   * Every live message that matches and has been embedded (its vector was written at least once),
   * with the version its vector was written for, or null when more than `max` match.
   */
  embeddedMatching(filters: SearchFilters, max: number): Promise<EmbeddedRef[] | null>;
}

/** Applies source-reported changes (Slack events): deduped by event id, ordered by source time. */
export interface SourceChangeStore {
  /** One transaction: the dedupe mark, the message change and its outbox rows commit together. */
  applySourceChange(change: SourceChange): Promise<{ outcome: SourceChangeOutcome; outboxIds: number[] }>;
}

/** A change that upserts a message (an import carries no event id to dedupe on). */
export type SourceUpsert = Extract<SourceChange, { kind: "upsert" }>;

/**
 * Many source upserts at once (a history import): the same decisions as applySourceChange
 * (newest source time wins, a delete is final, identical content changes nothing), one
 * transaction per call, without event-id dedupe (the decisions make a re-import change nothing).
 */
export interface SourceChangeBatchStore {
  applySourceUpserts(
    changes: readonly SourceUpsert[],
  ): Promise<{ outcomes: SourceChangeOutcome[]; outboxIds: number[] }>;
}

/** Hands a received event over for asynchronous processing (the ingest queue). */
export interface EventQueue {
  send(body: string, attributes?: Readonly<Record<string, string>>): Promise<void>;
}

/** Posts a message to a Slack channel with the bot token (chat.postMessage: the gaps digest). */
export interface SlackChannelPoster {
  post(channel: string, message: SlackChannelMessage): Promise<void>;
}

/** Posts a message to a Slack `response_url` (the slash command's reply). */
export interface SlackResponder {
  post(responseUrl: string, message: SlackResponseMessage): Promise<void>;
}
