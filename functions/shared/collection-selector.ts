import { RetryableError } from "../core/errors";
import type { Embedder, MessageFilter, SemanticLeg, VectorCollection } from "../core/ports";
import { DEFAULT_FILTERED_SEARCH, filteredVectorSearch } from "../core/search/filtered-vector-search";
import { VectorCache } from "../core/search/vector-cache";
import {
  promoteVectorCollection,
  type ResolvedVectorCollections,
  resolveVectorCollections,
  type VectorCollectionRef,
  type VectorCollectionRegistry,
} from "../core/vector-collections";
import type { Config } from "./config";
import { embedderForModel } from "./embedder-factory";

/** What the selector needs from its container (built lazily there). */
export interface CollectionSelectorDeps {
  readonly config: Config;
  readonly registry: VectorCollectionRegistry;
  /** The configured embedder. */
  embedder(): Embedder;
  /** The base collection's index (the container's own). */
  baseIndex(): VectorCollection;
  /** The configured store's index for another collection (a model switch's). */
  openIndex(ref: VectorCollectionRef): VectorCollection;
  messageFilter(): MessageFilter;
}

const CACHE_MS = 5_000;

/** The configured store's base collection (index) name. */
export function vectorBaseName(cfg: Config): string {
  return cfg.VECTOR_STORE === "opensearch" ? cfg.OPENSEARCH_VECTOR_INDEX : cfg.CHROMA_COLLECTION;
}

/**
 * Which Chroma collection to read and which to write, for one container (the container builds one
 * and keeps it). Search takes `semanticLeg()` (the collection of the model it was last switched to,
 * and that model); the embedder worker, reindex and the reconciler use `writeIndex()` (the
 * configured model's). Resolved from PostgreSQL and cached briefly, so a switch reaches every
 * container within seconds.
 */
export class CollectionSelector {
  private resolved: { at: number; value: Promise<ResolvedVectorCollections> } | undefined;
  private readonly indexes = new Map<string, VectorCollection>();
  /** Embedders of models other than the configured one (null: this deployment cannot embed with it). */
  private readonly embedders = new Map<string, Embedder | null>();
  /** The active collection's vectors for exact scans (one collection's: a switch starts a new cache). */
  private vectorCache: { collection: string; cache: VectorCache } | undefined;

  constructor(private readonly deps: CollectionSelectorDeps) {}

  /** Active and write collections; `fresh` skips the cache (the reconciler, tests). */
  collections(opts: { fresh?: boolean } = {}): Promise<ResolvedVectorCollections> {
    const now = Date.now();
    if (!opts.fresh && this.resolved && now - this.resolved.at < CACHE_MS) return this.resolved.value;
    const value = resolveVectorCollections(
      { registry: this.deps.registry, baseCollectionModel: () => this.deps.baseIndex().collectionModel() },
      vectorBaseName(this.deps.config),
      this.deps.embedder(),
    );
    this.resolved = { at: now, value };
    value.catch(() => {
      if (this.resolved?.value === value) this.resolved = undefined;
    });
    return value;
  }

  /** Makes the write collection the active one (the reconciler, after a clean pass over it). */
  async promote(current: ResolvedVectorCollections): Promise<void> {
    await promoteVectorCollection(this.deps.registry, current);
    // This container reads the new active collection right away.
    await this.collections({ fresh: true });
  }

  /** The index for a collection: the container's own one for the base collection, else one per name. */
  indexFor(ref: VectorCollectionRef): VectorCollection {
    const base = this.deps.baseIndex();
    if (ref.name === base.collectionName && ref.model === this.deps.embedder().modelId) return base;
    const key = `${ref.name}|${ref.model}|${ref.dimension}`;
    let index = this.indexes.get(key);
    if (!index) {
      index = this.deps.openIndex(ref);
      this.indexes.set(key, index);
    }
    return index;
  }

  /** Where the configured embedder's vectors go. */
  async writeIndex(): Promise<VectorCollection> {
    return this.indexFor((await this.collections()).write);
  }

  /**
   * What search reads: during a model switch the previous model's collection, whose vectors came
   * from that model (same model id and dimension as `active`).
   */
  async activeIndex(): Promise<{ index: VectorCollection; collection: VectorCollectionRef }> {
    const resolved = await this.collections();
    return { index: this.indexFor(resolved.active), collection: resolved.active };
  }

  /**
   * Search's semantic leg: the active collection, queried with vectors of the model it holds, and
   * its filters answered from PostgreSQL where Chroma's own filter is slow (filtered-vector-search.ts).
   * Resolved per request (cached for a few seconds), so bm25 searches never touch it and a failed
   * lookup degrades only this leg.
   */
  async semanticLeg(): Promise<SemanticLeg> {
    const { index, collection } = await this.activeIndex();
    const embedder = this.embedderOf(collection.model);
    if (!embedder) {
      throw new RetryableError(
        `the active vector collection ${collection.name} holds ${collection.model} vectors, which this ` +
          `deployment cannot embed (configured: ${this.deps.embedder().modelId}); semantic search resumes ` +
          "when the model switch completes",
      );
    }
    // A store that filters inside its own k-NN query needs no PostgreSQL pre-check.
    return {
      embedder,
      vector: index.filtersInStore
        ? index
        : filteredVectorSearch(
            index,
            this.deps.messageFilter(),
            DEFAULT_FILTERED_SEARCH,
            this.vectorCacheOf(collection.name),
          ),
    };
  }

  private vectorCacheOf(collection: string): VectorCache {
    if (this.vectorCache?.collection !== collection) {
      const bytes = Math.floor(this.deps.config.SEARCH_VECTOR_CACHE_MB * 1024 * 1024);
      this.vectorCache = { collection, cache: new VectorCache(bytes) };
    }
    return this.vectorCache.cache;
  }

  /** An embedder for `modelId`: the configured one, or one built from the id (embedderForModel). */
  private embedderOf(modelId: string): Embedder | null {
    const configured = this.deps.embedder();
    if (modelId === configured.modelId) return configured;
    if (!this.embedders.has(modelId))
      this.embedders.set(modelId, embedderForModel(modelId, this.deps.config));
    return this.embedders.get(modelId) ?? null;
  }
}
