import type { Client } from "@opensearch-project/opensearch";
import { PermanentError, RetryableError } from "../../core/errors";
import type { LegHit, SearchFilters, StoredMessage } from "../../core/model";
import type { IndexedVersion, VectorCollection } from "../../core/ports";
import { messageFacets } from "../../core/search/message-features";
import { createIndexIfAbsent, deleteIndexWithTemplate, errorType, nullIfIndexMissing } from "./index-errors";
import { buildFilterClauses, type Dsl, FEATURES_FIELD, MENTIONS_FIELD } from "./query-dsl";

/** HNSW settings of a new k-NN index (README "Vector store" explains the numbers). */
export interface KnnSettings {
  /** Graph degree: 16 is the k-NN plugin's default and Chroma's. */
  readonly m: number;
  /** Build-time beam width: Chroma's default is 100, the plugin's 100 for Lucene. */
  readonly efConstruction: number;
  /**
   * Candidates each query examines at least (Lucene's k is also its beam width). 100 matches
   * Chroma's search ef and keeps recall@10 >= 0.97 at 100k vectors (bench/reports/vectors-*.md).
   */
  readonly minCandidates: number;
}

const DEFAULT_KNN: KnnSettings = { m: 16, efConstruction: 100, minCandidates: 100 };

export interface OpenSearchVectorIndexOptions {
  /** The embedder's model id: recorded in the mapping's _meta and on every vector. */
  readonly modelId: string;
  readonly dimension: number;
  readonly shards?: number;
  readonly replicas?: number;
  readonly knn?: Partial<KnnSettings>;
  /** Documents per bulk request. */
  readonly batchSize?: number;
  /**
   * Every write refreshes the index at once, so it is searchable when the call returns. Off for the
   * workers (a second of lag is fine, and per-write refreshes make many small segments); tests and
   * benchmarks that query right after writing turn it on.
   */
  readonly refreshOnWrite?: boolean;
}

const FIELD = "embedding";
/** Above the 0-100 range hand-made catch-all templates tend to use (as the keyword index's). */
const TEMPLATE_PRIORITY = 500;
/** Deep pages of listVersions by offset (a reconciler resuming in a new container). */
const MAX_RESULT_WINDOW = 1_000_000;

interface VectorDoc {
  message_id: number;
  version: number;
  model: string;
  source: string;
  source_type: string;
  channel: string;
  author: string;
  timestamp: string;
  thread_id: string | null;
  mentions: string[];
  features: string[];
  embedding: number[];
}

interface SearchHit {
  _id: string;
  _score?: number | null;
  _source?: Partial<VectorDoc>;
}

/**
 * Vector index in OpenSearch's k-NN plugin: one document per message (`_id` = message id), a
 * `knn_vector` on the Lucene engine in cosine space. Every search filter (also `to:`, `has:` and
 * `is:thread`, stored from message-features.ts) goes inside the k-NN query, where Lucene applies it
 * while walking the graph (efficient filtering; an exact scan when few documents match). Writes
 * are versioned by OpenSearch itself (external_gte), so the highest version wins in any order.
 */
export class OpenSearchVectorIndex implements VectorCollection {
  readonly filtersInStore = true;
  private ensured: Promise<void> | undefined;
  private readonly knn: KnnSettings;
  private readonly batchSize: number;
  /** Where the last listVersions page ended: the next page continues there with search_after. */
  private cursor: { offset: number; afterId: number } | undefined;

  constructor(
    private readonly client: Client,
    readonly collectionName: string,
    private readonly opts: OpenSearchVectorIndexOptions,
  ) {
    this.knn = { ...DEFAULT_KNN, ...opts.knn };
    this.batchSize = opts.batchSize ?? 500;
  }

  private get templateName(): string {
    return `trisearch-vectors-${this.collectionName}`;
  }

  private body() {
    return {
      settings: {
        number_of_shards: this.opts.shards ?? 1,
        number_of_replicas: this.opts.replicas ?? 0,
        "index.knn": true,
        max_result_window: MAX_RESULT_WINDOW,
      },
      mappings: {
        dynamic: "strict",
        _meta: { embedding_model: this.opts.modelId, embedding_dimension: this.opts.dimension },
        properties: {
          message_id: { type: "long" },
          version: { type: "long" },
          model: { type: "keyword" },
          source: { type: "keyword" },
          source_type: { type: "keyword" },
          channel: { type: "keyword" },
          author: { type: "keyword" },
          timestamp: { type: "date" },
          thread_id: { type: "keyword" },
          [MENTIONS_FIELD]: { type: "keyword" },
          [FEATURES_FIELD]: { type: "keyword" },
          [FIELD]: {
            type: "knn_vector",
            dimension: this.opts.dimension,
            method: {
              name: "hnsw",
              engine: "lucene",
              space_type: "cosinesimil",
              parameters: { m: this.knn.m, ef_construction: this.knn.efConstruction },
            },
          },
        },
      },
    } as const;
  }

  /**
   * Puts the index template (so a write racing a hand-deleted index recreates it with this mapping,
   * never a dynamic one) and creates the index; once per instance, retried after a failure.
   */
  ensureCollection(): Promise<void> {
    this.ensured ??= this.create().catch((err: unknown) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  private async create(): Promise<void> {
    const { settings, mappings } = this.body();
    await this.client.indices.putIndexTemplate({
      name: this.templateName,
      body: {
        index_patterns: [this.collectionName],
        priority: TEMPLATE_PRIORITY,
        template: { settings, mappings },
      },
    });
    await createIndexIfAbsent(this.client, this.collectionName, { settings, mappings });
  }

  async exists(): Promise<boolean> {
    return (await this.client.indices.exists({ index: this.collectionName })).body;
  }

  async collectionModel(): Promise<{ modelId: string; dimension: number } | null> {
    const res = await this.client.indices
      .getMapping({ index: this.collectionName })
      .catch(nullIfIndexMissing);
    const meta = (
      Object.values(res?.body ?? {})[0]?.mappings as { _meta?: Record<string, unknown> } | undefined
    )?._meta;
    const modelId = meta?.["embedding_model"];
    const dimension = meta?.["embedding_dimension"];
    if (typeof modelId !== "string" || typeof dimension !== "number") return null;
    return { modelId, dimension };
  }

  async deleteCollection(): Promise<void> {
    this.ensured = undefined;
    this.cursor = undefined;
    await deleteIndexWithTemplate(this.client, this.collectionName, this.templateName);
  }

  /**
   * Writes each live row's vector at its version and deletes the vectors of deleted rows; a stored
   * vector with a higher version stays (external_gte: equal versions are rewritten, as a re-embed
   * with a new model keeps the row's version).
   */
  async upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]): Promise<void> {
    for (const { message, embedding } of rows) {
      if (message.deletedAt) continue;
      this.assertEmbedding(embedding, `message ${message.id}`);
    }
    if (rows.length === 0) return;
    await this.ensureCollection();
    let deletes = false;
    for (let i = 0; i < rows.length; i += this.batchSize) {
      const lines: object[] = [];
      for (const { message, embedding } of rows.slice(i, i + this.batchSize)) {
        const meta = { _id: String(message.id), version: message.version, version_type: "external_gte" };
        if (message.deletedAt) {
          deletes = true;
          lines.push({ delete: meta });
        } else lines.push({ index: meta }, this.toDoc(message, embedding));
      }
      // Deletes must be invisible before the reconciler's next offset page (see remove).
      await this.bulk(lines, deletes);
    }
  }

  /**
   * Deletes vectors; ids that are not there are fine. Waits for the refresh, so a listVersions page
   * read afterwards no longer holds them (the reconciler's offsets count on it, as with Chroma).
   */
  async remove(messageIds: readonly number[]): Promise<void> {
    if (messageIds.length === 0) return;
    for (let i = 0; i < messageIds.length; i += this.batchSize) {
      const chunk = messageIds.slice(i, i + this.batchSize);
      await this.bulk(
        chunk.map((id) => ({ delete: { _id: String(id) } })),
        true,
      );
      if (this.cursor) {
        const before = chunk.filter((id) => id <= (this.cursor?.afterId ?? -1)).length;
        this.cursor = { ...this.cursor, offset: this.cursor.offset - before };
      }
    }
  }

  /** `visible`: return once the writes are searchable (the next scheduled refresh, at most 1 s). */
  private async bulk(lines: readonly object[], visible: boolean): Promise<void> {
    // refreshOnWrite refreshes at once (tests, benchmarks), the rest wait for the scheduled refresh.
    const refresh = this.opts.refreshOnWrite ? true : visible ? ("wait_for" as const) : undefined;
    let res: { body: { errors: boolean; items: Record<string, unknown>[] } };
    try {
      res = await this.client.bulk({
        index: this.collectionName,
        body: lines as Record<string, unknown>[],
        ...(refresh !== undefined ? { refresh } : {}),
      });
    } catch (err) {
      if (errorType(err) === "index_not_found_exception") this.ensured = undefined;
      throw err;
    }
    if (!res.body.errors) return;
    const failures: string[] = [];
    let throttled = false;
    for (const item of res.body.items) {
      const result = Object.values(item)[0] as
        | { _id?: string; status: number; error?: { type?: string; reason?: string | null } }
        | undefined;
      if (!result || result.status < 300) continue;
      // 409: a newer version is stored (the newest wins); 404: deleting what is not there.
      if (result.status === 409 || result.status === 404) continue;
      if (result.status === 429) throttled = true;
      failures.push(
        `${result._id}: ${result.status} ${result.error?.type ?? ""} ${result.error?.reason ?? ""}`,
      );
    }
    if (failures.length === 0) return;
    const message = `OpenSearch k-NN index ${this.collectionName}: ${failures.length} writes failed (${failures.slice(0, 3).join("; ")})`;
    // Throttled or a shard unavailable: the SQS redelivery is the retry.
    if (throttled || failures.every((f) => / 5\d\d /.test(` ${f}`))) throw new RetryableError(message);
    throw new Error(message);
  }

  async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
    this.assertEmbedding(embedding, "query");
    if (limit <= 0) return [];
    const clauses = buildFilterClauses(filters);
    return this.search(this.knnBody(embedding, limit, clauses));
  }

  /** Nearest among the given messages (the filter on `_id` inside the k-NN query); fails if one has no vector. */
  async queryAmong(embedding: number[], messageIds: readonly number[], limit: number): Promise<LegHit[]> {
    this.assertEmbedding(embedding, "query");
    const ids = [...new Set(messageIds)].map(String);
    if (limit <= 0 || ids.length === 0) return [];
    const [hits, present] = await this.msearch([
      this.knnBody(embedding, limit, [{ ids: { values: ids } }]),
      { size: 0, track_total_hits: true, query: { ids: { values: ids } } },
    ]);
    const held = present?.total ?? 0;
    if (held < ids.length) {
      // The same contract as Chroma's restricted query, which fails on an id it does not hold.
      throw new Error(
        `OpenSearch k-NN index ${this.collectionName} holds ${held} of ${ids.length} vectors asked for`,
      );
    }
    return hits?.hits ?? [];
  }

  async nearestMany(queries: readonly Float32Array[], limit: number): Promise<LegHit[][]> {
    if (queries.length === 0 || limit <= 0) return queries.map(() => []);
    const bodies = queries.map((q) => {
      const e = Array.from(q);
      this.assertEmbedding(e, "query");
      return this.knnBody(e, limit, []);
    });
    return (await this.msearch(bodies)).map((r) => r.hits);
  }

  async vectorsOf(messageIds: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = new Map<number, Float32Array>();
    for (const doc of await this.getDocs(messageIds, [FIELD])) {
      const e = doc.source[FIELD];
      if (Array.isArray(e)) out.set(doc.messageId, Float32Array.from(e));
    }
    return out;
  }

  async getVersions(messageIds: readonly number[]): Promise<Map<number, IndexedVersion>> {
    const out = new Map<number, IndexedVersion>();
    for (const doc of await this.getDocs(messageIds, ["version", "model"])) {
      out.set(doc.messageId, toIndexedVersion(doc.messageId, doc.source));
    }
    return out;
  }

  /** Realtime gets (no refresh needed); ids without a document, or no index, are absent. */
  private async getDocs(
    messageIds: readonly number[],
    fields: string[],
  ): Promise<{ messageId: number; source: Partial<VectorDoc> }[]> {
    const out: { messageId: number; source: Partial<VectorDoc> }[] = [];
    for (let i = 0; i < messageIds.length; i += this.batchSize) {
      const ids = messageIds.slice(i, i + this.batchSize).map(String);
      const res = await this.client
        .mget({ index: this.collectionName, body: { ids }, _source_includes: fields })
        .catch(nullIfIndexMissing);
      const docs = (res?.body.docs ?? []) as { _id: string; found?: boolean; _source?: Partial<VectorDoc> }[];
      for (const d of docs) if (d.found) out.push({ messageId: Number(d._id), source: d._source ?? {} });
    }
    return out;
  }

  async count(): Promise<number> {
    const res = await this.client.count({ index: this.collectionName }).catch(nullIfIndexMissing);
    return res?.body.count ?? 0;
  }

  /**
   * One page in message id order. A page that starts where the previous one ended (minus what was
   * removed in between) continues with search_after; any other offset pages from the start.
   */
  async listVersions(offset: number, limit: number): Promise<IndexedVersion[]> {
    const cursor = this.cursor && offset > 0 && this.cursor.offset === offset ? this.cursor : undefined;
    const res = await this.client
      .search({
        index: this.collectionName,
        body: {
          size: limit,
          ...(cursor ? { search_after: [cursor.afterId] } : { from: offset }),
          query: { match_all: {} },
          sort: [{ message_id: "asc" }],
          _source: ["message_id", "version", "model"],
          track_total_hits: false,
        },
      })
      .catch(nullIfIndexMissing);
    const hits = (res?.body.hits.hits ?? []) as SearchHit[];
    const page = hits.map((h) => toIndexedVersion(Number(h._id), h._source ?? {}));
    const last = page.at(-1);
    this.cursor = last ? { offset: offset + page.length, afterId: last.messageId } : undefined;
    return page;
  }

  /**
   * The k-NN query: `k` candidates (at least minCandidates, Lucene's beam width), the filter applied
   * inside the graph walk, the best `limit` returned.
   */
  private knnBody(embedding: number[], limit: number, filter: Dsl[]): Dsl {
    const k = Math.max(limit, this.knn.minCandidates);
    return {
      size: limit,
      _source: false,
      track_total_hits: false,
      query: {
        knn: {
          [FIELD]: {
            vector: embedding,
            k,
            ...(filter.length > 0 ? { filter: { bool: { filter } } } : {}),
          },
        },
      },
    };
  }

  private async search(body: Dsl): Promise<LegHit[]> {
    // No index yet: nothing was written, so nothing is near.
    const res = await this.client.search({ index: this.collectionName, body }).catch(nullIfIndexMissing);
    return toHits((res?.body.hits.hits ?? []) as SearchHit[]);
  }

  private async msearch(bodies: readonly Dsl[]): Promise<{ hits: LegHit[]; total: number }[]> {
    const lines: Dsl[] = [];
    for (const b of bodies) lines.push({}, b);
    const res = await this.client.msearch({ index: this.collectionName, body: lines });
    const responses = res.body.responses as {
      hits?: { hits: SearchHit[]; total?: { value: number } | number };
      error?: { type?: string; reason?: string };
    }[];
    return responses.map((r) => {
      if (r.error) {
        if (r.error.type === "index_not_found_exception") return { hits: [], total: 0 };
        throw new Error(`OpenSearch k-NN search failed: ${r.error.type}: ${r.error.reason}`);
      }
      const total = r.hits?.total;
      return {
        hits: toHits(r.hits?.hits ?? []),
        total: typeof total === "number" ? total : (total?.value ?? 0),
      };
    });
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

  private toDoc(m: StoredMessage, embedding: number[]): VectorDoc {
    // Decided on the stored row, as the keyword index and PostgreSQL do (message-features.ts).
    const facets = messageFacets(m);
    return {
      message_id: m.id,
      version: m.version,
      model: this.opts.modelId,
      source: m.source.name,
      source_type: m.source.type,
      channel: m.channel,
      author: m.author,
      timestamp: m.timestamp.toISOString(),
      thread_id: m.threadId ?? null,
      mentions: facets.mentions,
      features: facets.features,
      embedding,
    };
  }
}

/** Lucene's cosine score is (1 + cos) / 2; the port's score is the cosine itself (as Chroma's 1 - distance). */
function toHits(hits: readonly SearchHit[]): LegHit[] {
  return hits.map((h) => ({ messageId: Number(h._id), score: 2 * (h._score ?? 0) - 1 }));
}

function toIndexedVersion(messageId: number, src: Partial<VectorDoc>): IndexedVersion {
  return {
    messageId,
    version: typeof src.version === "number" ? src.version : 0,
    ...(typeof src.model === "string" ? { model: src.model } : {}),
  };
}

/**
 * Deletes every k-NN index named `prefix` or after it (`<base>__<model>`) with its template: a test or
 * benchmark namespace's cleanup.
 */
export async function deleteVectorIndices(client: Client, prefix: string): Promise<void> {
  const res = await client.cat.indices({ index: `${prefix}*`, format: "json" });
  const names = (res.body as { index?: string }[]).flatMap((r) => (r.index ? [r.index] : []));
  for (const name of new Set([prefix, ...names])) {
    await new OpenSearchVectorIndex(client, name, { modelId: "-", dimension: 1 }).deleteCollection();
  }
}
