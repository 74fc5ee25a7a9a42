import { type ChromaClient, ChromaNotFoundError, type Collection, type Metadata, type Where } from "chromadb";
import { PermanentError } from "../../core/errors";
import type { LegHit, SearchFilters, StoredMessage } from "../../core/model";
import type { IndexedVersion, VectorCollection } from "../../core/ports";
import { toEpochSeconds } from "../../core/search/search-request";
import type { ChromaQueryBody, ChromaQueryHttp } from "./chroma-query-http";
import { buildChromaWhere } from "./where-filter";

export interface ChromaVectorIndexOptions {
  /** The embedder's model id: stored on the collection and on every vector. */
  readonly modelId: string;
  readonly dimension: number;
  /** Records per Chroma write (the server also has its own max batch size). */
  readonly batchSize?: number;
  /** Queries go through this lean transport when given (see chroma-query-http.ts). */
  readonly queryHttp?: ChromaQueryHttp;
}

/** The embedding model a collection was created for (null when it carries no such record). */
export interface CollectionModel {
  readonly modelId: string;
  readonly dimension: number;
}

const ID_PREFIX = "msg_";

/** Vector id for a message: the `embedding_id` PostgreSQL keeps. */
function vectorId(messageId: number): string {
  return `${ID_PREFIX}${messageId}`;
}

/** Vector index in Chroma: one vector per message, id `msg_<id>`, cosine space, our own embeddings. */
export class ChromaVectorIndex implements VectorCollection {
  /** Chroma metadata lacks `to:`, `has:` and `is:thread`: PostgreSQL checks them (filtered-vector-search.ts). */
  readonly filtersInStore = false;
  private collectionPromise: Promise<Collection> | undefined;
  private readonly batchSize: number;

  constructor(
    private readonly client: ChromaClient,
    readonly collectionName: string,
    private readonly opts: ChromaVectorIndexOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
  }

  /** Gets or creates the collection once per instance (a failed attempt is retried on next use). */
  ensureCollection(): Promise<Collection> {
    this.collectionPromise ??= this.openCollection().catch((err: unknown) => {
      this.collectionPromise = undefined;
      throw err;
    });
    return this.collectionPromise;
  }

  private async openCollection(): Promise<Collection> {
    const collection = await this.client.getOrCreateCollection({
      name: this.collectionName,
      configuration: { hnsw: { space: "cosine" } },
      metadata: { embedding_model: this.opts.modelId, embedding_dimension: this.opts.dimension },
      // null: we always pass embeddings, so the client never loads @chroma-core/default-embed.
      embeddingFunction: null,
    });
    // Scores are 1 - distance, which only means similarity in cosine space.
    const space = collection.configuration?.hnsw?.space;
    if (space && space !== "cosine") {
      throw new PermanentError(
        "collection_space_mismatch",
        `Chroma collection ${this.collectionName} uses ${space} distance, expected cosine`,
      );
    }
    return collection;
  }

  /**
   * Runs `work` on the collection. One deleted behind our back (by hand, or a reset) answers "not
   * found": the cached handle is dropped, so the caller's retry (SQS redelivery, the next search)
   * opens the collection again (creating it) instead of failing until the container is recycled.
   */
  private async withCollection<T>(work: (collection: Collection) => Promise<T>): Promise<T> {
    const opened = this.ensureCollection();
    try {
      return await work(await opened);
    } catch (err) {
      if (isNotFound(err) && this.collectionPromise === opened) this.collectionPromise = undefined;
      throw err;
    }
  }

  /** The collection if it exists, without creating it (read-only callers: verify, dry runs). */
  private async existing(): Promise<Collection | null> {
    try {
      return await this.client.getCollection({ name: this.collectionName });
    } catch (err) {
      if (err instanceof ChromaNotFoundError) return null;
      throw err;
    }
  }

  async exists(): Promise<boolean> {
    return (await this.existing()) !== null;
  }

  /** The model recorded when the collection was created (null: none recorded, or no collection yet). */
  async collectionModel(): Promise<CollectionModel | null> {
    const meta = (await this.existing())?.metadata;
    const modelId = meta?.["embedding_model"];
    const dimension = meta?.["embedding_dimension"];
    if (typeof modelId !== "string" || typeof dimension !== "number") return null;
    return { modelId, dimension };
  }

  /**
   * Writes each live row's vector; deleted rows remove theirs. Rows whose stored vector has a higher
   * version are skipped. Chroma has no conditional write, so two workers racing on one message can
   * still interleave between the read and the write; the claim-check re-read and reconciliation
   * repair that rare case.
   */
  async upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]): Promise<void> {
    // Validate everything first: a bad vector fails the call before anything is written.
    for (const { message, embedding } of rows) {
      if (message.deletedAt) continue;
      this.assertEmbedding(embedding, `message ${message.id}`);
    }
    // One id per call (Chroma rejects duplicates); the highest version wins.
    const latest = new Map<number, { message: StoredMessage; embedding: number[] }>();
    for (const row of rows) {
      const seen = latest.get(row.message.id);
      if (!seen || row.message.version >= seen.message.version) latest.set(row.message.id, row);
    }
    if (latest.size === 0) return;

    const stored = await this.getVersions([...latest.keys()]);
    const writes: { message: StoredMessage; embedding: number[] }[] = [];
    const deletes: number[] = [];
    for (const row of latest.values()) {
      // Equal versions are rewritten: a re-embed with a new model keeps the row's version.
      const current = stored.get(row.message.id);
      if (current && current.version > row.message.version) continue;
      if (row.message.deletedAt) deletes.push(row.message.id);
      else writes.push(row);
    }

    await this.withCollection(async (collection) => {
      for (let i = 0; i < writes.length; i += this.batchSize) {
        const chunk = writes.slice(i, i + this.batchSize);
        await collection.upsert({
          ids: chunk.map((r) => vectorId(r.message.id)),
          embeddings: chunk.map((r) => r.embedding),
          documents: chunk.map((r) => r.message.content),
          metadatas: chunk.map((r) => this.toMetadata(r.message)),
        });
      }
    });
    await this.remove(deletes);
  }

  /** Deletes vectors; ids that are not there are fine. */
  async remove(messageIds: readonly number[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.withCollection(async (collection) => {
      for (let i = 0; i < messageIds.length; i += this.batchSize) {
        await collection.delete({ ids: messageIds.slice(i, i + this.batchSize).map(vectorId) });
      }
    });
  }

  async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
    return this.queryWhere(embedding, buildChromaWhere(filters), limit);
  }

  /** Nearest vectors under a prepared Chroma `where`; score = cosine similarity (1 - distance). */
  async queryWhere(embedding: number[], where: Where | undefined, limit: number): Promise<LegHit[]> {
    this.assertEmbedding(embedding, "query");
    if (limit <= 0) return [];
    return this.nearest({
      query_embeddings: [embedding],
      n_results: limit,
      ...(where && Object.keys(where).length > 0 ? { where } : {}),
      // Ids carry the message id (msg_<id>); fetching metadata costs ~70 us per hit in Chroma 1.0.
      include: ["distances"],
    });
  }

  private toHits(ids: readonly string[], distances: readonly (number | null | undefined)[]): LegHit[] {
    const hits: LegHit[] = [];
    ids.forEach((id, i) => {
      const distance = distances[i];
      if (distance === null || distance === undefined) return;
      hits.push({ messageId: messageIdOf(id, undefined), score: 1 - distance });
    });
    return hits;
  }

  /**
   * Chroma's search restricted to the given messages; fails if one of them has no vector. Small sets
   * are scanned exactly by the semantic leg instead (filtered-vector-search.ts, maxFetchedExact).
   */
  async queryAmong(embedding: number[], messageIds: readonly number[], limit: number): Promise<LegHit[]> {
    this.assertEmbedding(embedding, "query");
    if (limit <= 0 || messageIds.length === 0) return [];
    return this.nearest({
      query_embeddings: [embedding],
      ids: messageIds.map(vectorId),
      n_results: limit,
      include: ["distances"],
    });
  }

  private async nearest(body: ChromaQueryBody): Promise<LegHit[]> {
    return (await this.nearestAll(body))[0] ?? [];
  }

  /**
   * Gap detection: the unfiltered nearest neighbours of many vectors in one query (Chroma answers
   * every query embedding of a request in one pass), best first per query.
   */
  async nearestMany(queries: readonly Float32Array[], limit: number): Promise<LegHit[][]> {
    if (queries.length === 0 || limit <= 0) return queries.map(() => []);
    const embeddings = queries.map((q) => {
      const e = Array.from(q);
      this.assertEmbedding(e, "query");
      return e;
    });
    return this.nearestAll({ query_embeddings: embeddings, n_results: limit, include: ["distances"] });
  }

  /** Stored vectors of the given messages (batched gets); ids without a vector are absent. */
  async vectorsOf(messageIds: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = new Map<number, Float32Array>();
    for (let i = 0; i < messageIds.length; i += this.batchSize) {
      const ids = messageIds.slice(i, i + this.batchSize).map(vectorId);
      const res = await this.withCollection((collection) =>
        this.opts.queryHttp
          ? this.opts.queryHttp.getEmbeddings(collection, ids)
          : collection.get({ ids, include: ["embeddings"] }),
      );
      const embeddings = res.embeddings ?? [];
      res.ids.forEach((id, k) => {
        const e = embeddings[k];
        if (e) out.set(messageIdOf(id, undefined), Float32Array.from(e));
      });
    }
    return out;
  }

  private async nearestAll(body: ChromaQueryBody): Promise<LegHit[][]> {
    const res = await this.withCollection((collection) =>
      this.opts.queryHttp
        ? this.opts.queryHttp.query(collection, body)
        : collection.query({
            queryEmbeddings: body.query_embeddings,
            nResults: body.n_results,
            ...(body.where ? { where: body.where as Where } : {}),
            ...(body.ids ? { ids: body.ids } : {}),
            include: body.include,
          }),
    );
    return body.query_embeddings.map((_, q) => this.toHits(res.ids[q] ?? [], res.distances[q] ?? []));
  }

  async count(): Promise<number> {
    return this.withCollection((collection) => collection.count());
  }

  /** One page in Chroma's storage order, which is stable while nothing is written. */
  async listVersions(offset: number, limit: number): Promise<IndexedVersion[]> {
    const res = await this.withCollection((collection) =>
      collection.get({ limit, offset, include: ["metadatas"] }),
    );
    return res.ids.map((id, i) => toIndexedVersion(id, res.metadatas[i]));
  }

  async getVersions(messageIds: readonly number[]): Promise<Map<number, IndexedVersion>> {
    const out = new Map<number, IndexedVersion>();
    if (messageIds.length === 0) return out;
    for (let i = 0; i < messageIds.length; i += this.batchSize) {
      const ids = messageIds.slice(i, i + this.batchSize).map(vectorId);
      const res = await this.withCollection((collection) => collection.get({ ids, include: ["metadatas"] }));
      res.ids.forEach((id, k) => {
        const v = toIndexedVersion(id, res.metadatas[k]);
        out.set(v.messageId, v);
      });
    }
    return out;
  }

  async deleteCollection(): Promise<void> {
    this.collectionPromise = undefined;
    try {
      await this.client.deleteCollection({ name: this.collectionName });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private assertEmbedding(embedding: readonly number[], what: string): void {
    if (embedding.length !== this.opts.dimension) {
      throw new PermanentError(
        "dimension_mismatch",
        `${what}: embedding has ${embedding.length} dimensions, index ${this.collectionName} expects ${this.opts.dimension} (${this.opts.modelId})`,
      );
    }
    if (!embedding.every(Number.isFinite)) {
      throw new PermanentError("invalid_embedding", `${what}: embedding contains a non-finite value`);
    }
  }

  private toMetadata(m: StoredMessage): Metadata {
    const meta: Metadata = {
      message_id: m.id,
      source: m.source.name,
      source_type: m.source.type,
      channel: m.channel,
      author: m.author,
      // Integer epoch seconds: Chroma's where filters compare numbers only (see where-filter.ts).
      timestamp: toEpochSeconds(m.timestamp),
      version: m.version,
      model: this.opts.modelId,
    };
    // Chroma metadata values cannot be null: leave the key out instead.
    if (m.threadId !== null && m.threadId !== undefined) meta["thread_id"] = m.threadId;
    return meta;
  }
}

function messageIdOf(id: string, meta: Metadata | null | undefined): number {
  const fromMeta = meta?.["message_id"];
  if (typeof fromMeta === "number") return fromMeta;
  return Number(id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id);
}

function toIndexedVersion(id: string, meta: Metadata | null | undefined): IndexedVersion {
  const version = meta?.["version"];
  const model = meta?.["model"];
  return {
    messageId: messageIdOf(id, meta),
    version: typeof version === "number" ? version : 0,
    ...(typeof model === "string" ? { model } : {}),
  };
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "ChromaNotFoundError" || /not (be )?found|does not exist/i.test(err.message);
}
