import { ChromaVectorIndex } from "../adapters/chroma/chroma-vector-index";
import { PgReconcileStore } from "../adapters/postgres/pg-reconcile-store";
import {
  type ResolvedVectorCollections,
  resolveVectorCollections,
  type VectorCollectionRef,
} from "../core/vector-collections";
import { chromaClient, chromaQueryHttp, pgPool } from "./clients";
import type { Container } from "./container";

/**
 * Which Chroma collection to read and which to write, for a container. Search calls
 * `activeVectorIndex(container())` (the collection of the model it was last switched to);
 * the embedder worker, reindex and the reconciler use `writeVectorIndex` (the configured model's).
 * Resolved from PostgreSQL and cached briefly, so a switch reaches every container within seconds.
 */

const CACHE_MS = 5_000;

interface PerContainer {
  store?: PgReconcileStore;
  resolved?: { at: number; value: Promise<ResolvedVectorCollections> };
  indexes: Map<string, ChromaVectorIndex>;
}

const state = new WeakMap<Container, PerContainer>();

function of(c: Container): PerContainer {
  let s = state.get(c);
  if (!s) {
    s = { indexes: new Map() };
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
 * What search reads. During a model switch this is the previous model's collection: query
 * vectors must then come from that model (same model id and dimension as `active`); a query
 * from another dimension is rejected by the index (dimension_mismatch).
 */
export async function activeVectorIndex(
  c: Container,
): Promise<{ index: ChromaVectorIndex; collection: VectorCollectionRef; switching: boolean }> {
  let resolved: ResolvedVectorCollections;
  try {
    resolved = await vectorCollections(c);
  } catch {
    // The first lookup needs Chroma (the base collection's model). If it is down, hand out the
    // base index: its own query fails, so only the semantic leg degrades, not the whole search.
    const base = c.vectorIndex();
    const ref = { name: base.collectionName, model: c.embedder.modelId, dimension: c.embedder.dimension };
    return { index: base, collection: ref, switching: false };
  }
  return {
    index: vectorIndexFor(c, resolved.active),
    collection: resolved.active,
    switching: resolved.switching,
  };
}
