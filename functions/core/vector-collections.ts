import { createHash } from "node:crypto";

/**
 * Embedding model versioning. Vectors from two models never share a collection: the collection
 * a model writes to is derived from the base name, and search reads the *active* collection,
 * which only moves to a new model's collection once the reconciler has seen it complete.
 */

/** One Chroma collection and the model its vectors come from. */
export interface VectorCollectionRef {
  readonly name: string;
  readonly model: string;
  readonly dimension: number;
}

/** What PostgreSQL records (reconcile_state "vector_collections"). */
export interface VectorCollectionState {
  /** The collection search reads. */
  readonly active: VectorCollectionRef;
  /** The collection active before the last switch (kept for rollback; nothing reads it). */
  readonly previous?: VectorCollectionRef;
  readonly switchedAt?: string;
}

/** Where the vector collection state lives (PostgreSQL in every deployment). */
export interface VectorCollectionRegistry {
  loadCollections(): Promise<VectorCollectionState | null>;
  /** Stores `initial` only when nothing is stored yet; returns what is stored afterwards. */
  initCollections(initial: VectorCollectionState): Promise<VectorCollectionState>;
  saveCollections(state: VectorCollectionState): Promise<void>;
}

export interface ResolvedVectorCollections {
  /** Search reads this one. */
  readonly active: VectorCollectionRef;
  /** The configured embedder writes (workers, reindex) and the reconciler checks this one. */
  readonly write: VectorCollectionRef;
  /** True while the configured model's collection is being (re)built and search stays on the old one. */
  readonly switching: boolean;
}

const MAX_NAME = 63;

/**
 * The collection for a model that is not the base collection's own: `<base>__<model slug>`.
 * Chroma names allow [a-zA-Z0-9._-] and must start and end with an alphanumeric; long names are
 * shortened with a hash so two models can never collide.
 */
export function collectionNameFor(base: string, modelId: string): string {
  const slug = modelId
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  const name = `${base}__${slug || "model"}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash("sha256").update(modelId).digest("hex").slice(0, 10);
  return `${base.slice(0, MAX_NAME - hash.length - 2)}__${hash}`;
}

/**
 * Which collection search reads and which one the configured model writes. The first call
 * records the base collection as active, with the model it was created for (or the configured
 * one for a new collection), so an existing deployment keeps its collection.
 */
export async function resolveVectorCollections(
  deps: {
    registry: VectorCollectionRegistry;
    /** The model recorded on the base collection (null when it has none). */
    baseCollectionModel: () => Promise<{ modelId: string; dimension: number } | null>;
  },
  base: string,
  configured: { modelId: string; dimension: number },
): Promise<ResolvedVectorCollections> {
  let state = await deps.registry.loadCollections();
  if (!state) {
    const recorded = await deps.baseCollectionModel();
    state = await deps.registry.initCollections({
      active: {
        name: base,
        model: recorded?.modelId ?? configured.modelId,
        dimension: recorded?.dimension ?? configured.dimension,
      },
    });
  }
  const { active, previous } = state;
  if (active.model === configured.modelId) return { active, write: active, switching: false };
  // Switching back to the model before the last switch reuses its collection (the reconciler
  // brings it up to date) instead of embedding everything from scratch.
  const write: VectorCollectionRef =
    previous && previous.model === configured.modelId
      ? previous
      : {
          name: collectionNameFor(base, configured.modelId),
          model: configured.modelId,
          dimension: configured.dimension,
        };
  return { active, write, switching: true };
}

/** Makes `write` the active collection (the reconciler calls this after a clean pass over it). */
export async function promoteVectorCollection(
  registry: VectorCollectionRegistry,
  current: ResolvedVectorCollections,
  now: Date = new Date(),
): Promise<VectorCollectionState> {
  const next: VectorCollectionState = {
    active: current.write,
    previous: current.active,
    switchedAt: now.toISOString(),
  };
  await registry.saveCollections(next);
  return next;
}
