import { ChromaVectorIndex } from "../adapters/chroma/chroma-vector-index";
import { PgReconcileStore } from "../adapters/postgres/pg-reconcile-store";
import { RetryableError } from "../core/errors";
import type { Embedder, SemanticLeg } from "../core/ports";
import { filteredVectorSearch } from "../core/search/filtered-vector-search";
import {
  type ResolvedVectorCollections,
  resolveVectorCollections,
  type VectorCollectionRef,
} from "../core/vector-collections";
import { chromaClient, chromaQueryHttp, pgPool } from "./clients";
import type { Container } from "./container";
import { embedderForModel } from "./embedder-factory";

/**
 * Which Chroma collection to read and which to write, for a container. Search calls
 * `semanticLeg(container())` (the collection of the model it was last switched to, and that model);
 * the embedder worker, reindex and the reconciler use `writeVectorIndex` (the configured model's).
 * Resolved from PostgreSQL and cached briefly, so a switch reaches every container within seconds.
 */

const CACHE_MS = 5_000;

interface PerContainer {
  store?: PgReconcileStore;
  resolved?: { at: number; value: Promise<ResolvedVectorCollections> };
  indexes: Map<string, ChromaVectorIndex>;
  /** Embedders of models other than the configured one (null: this deployment cannot embed with it). */
  embedders: Map<string, Embedder | null>;
}

const state = new WeakMap<Container, PerContainer>();

function of(c: Container): PerContainer {
  let s = state.get(c);
  if (!s) {
    s = { indexes: new Map(), embedders: new Map() };
    state.set(c, s);
  }
  return s;
}

export function reconcileStore(c: Container): PgReconcileStore {
  const s = of(c);
  s.store ??= new PgReconcileStore(pgPool(c.config));
  return s.store;
}

/** Active and write collections; `fresh` skips the cache (the reconciler, tests). */
export function vectorCollections(
  c: Container,
  opts: { fresh?: boolean } = {},
): Promise<ResolvedVectorCollections> {
  const s = of(c);
  const now = Date.now();
  if (!opts.fresh && s.resolved && now - s.resolved.at < CACHE_MS) return s.resolved.value;
  const value = resolveVectorCollections(
    {
      registry: reconcileStore(c),
      baseCollectionModel: () => c.vectorIndex().collectionModel(),
    },
    c.config.CHROMA_COLLECTION,
    c.embedder,
  );
  s.resolved = { at: now, value };
  value.catch(() => {
    if (s.resolved?.value === value) s.resolved = undefined;
  });
  return value;
}

/** The index for a collection: the container's own one for the base collection, else one per name. */
export function vectorIndexFor(c: Container, ref: VectorCollectionRef): ChromaVectorIndex {
  const base = c.vectorIndex();
  if (ref.name === base.collectionName && ref.model === c.embedder.modelId) return base;
  const s = of(c);
  const key = `${ref.name}|${ref.model}|${ref.dimension}`;
  let index = s.indexes.get(key);
  if (!index) {
    index = new ChromaVectorIndex(chromaClient(c.config), ref.name, {
      modelId: ref.model,
      dimension: ref.dimension,
      queryHttp: chromaQueryHttp(c.config),
    });
    s.indexes.set(key, index);
  }
  return index;
}

/** Where the configured embedder's vectors go. */
export async function writeVectorIndex(c: Container): Promise<ChromaVectorIndex> {
  return vectorIndexFor(c, (await vectorCollections(c)).write);
}

/**
 * What search reads: during a model switch the previous model's collection, whose vectors came
 * from that model (same model id and dimension as `active`).
 */
export async function activeVectorIndex(
  c: Container,
): Promise<{ index: ChromaVectorIndex; collection: VectorCollectionRef }> {
  const resolved = await vectorCollections(c);
  return {
    index: vectorIndexFor(c, resolved.active),
    collection: resolved.active,
  };
}

/** An embedder for `modelId`: the configured one, or one built from the id (embedderForModel). */
function embedderOf(c: Container, modelId: string): Embedder | null {
  if (modelId === c.embedder.modelId) return c.embedder;
  const s = of(c);
  if (!s.embedders.has(modelId)) s.embedders.set(modelId, embedderForModel(modelId, c.config));
  return s.embedders.get(modelId) ?? null;
}

/**
 * Search's semantic leg: the active collection, queried with vectors of the model it holds, and
 * its filters answered from PostgreSQL where Chroma's own filter is slow (filtered-vector-search.ts).
 * Resolved per request (cached for a few seconds), so bm25 searches never touch it and a failed
 * lookup degrades only this leg.
 */
export async function semanticLeg(c: Container): Promise<SemanticLeg> {
  const { index, collection } = await activeVectorIndex(c);
  const embedder = embedderOf(c, collection.model);
  if (!embedder) {
    throw new RetryableError(
      `the active vector collection ${collection.name} holds ${collection.model} vectors, which this ` +
        `deployment cannot embed (configured: ${c.embedder.modelId}); semantic search resumes when the ` +
        "model switch completes",
    );
  }
  return { embedder, vector: filteredVectorSearch(index, c.messageFilter) };
}
