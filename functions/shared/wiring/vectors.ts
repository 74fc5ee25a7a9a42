import { PgCollectionRegistry } from "../../adapters/postgres/pg-collection-registry";
import type { Embedder, MessageFilter, VectorCollection } from "../../core/ports";
import type { VectorCollectionRef } from "../../core/vector-collections";
import { pgPool } from "../clients/pg";
import { CollectionSelector, vectorBaseName } from "../collection-selector";
import type { Config } from "../config";
import { createEmbedder } from "../embedder-factory";
import { LazyVectorCollection } from "./lazy-vector-collection";
import { Part } from "./part";
import { postgres } from "./postgres";

export interface VectorPorts {
  readonly embedder: Embedder;
  /**
   * The base collection's index in the configured store (VECTOR_STORE); what the workers write and
   * search reads is `collections`' call.
   */
  vectorIndex(): VectorCollection;
  /** Which vector collection search reads and the embedder writes (embedding model switches). */
  readonly collections: CollectionSelector;
}

/** `messageFilter`: the semantic leg's PostgreSQL filter (the container's PgPorts). */
export function createVectorPorts(cfg: Config, messageFilter: () => MessageFilter): VectorPorts {
  let embedder: Embedder | undefined;
  let vectorIndex: VectorCollection | undefined;
  let collections: CollectionSelector | undefined;
  const theEmbedder = () => {
    embedder ??= createEmbedder(cfg);
    return embedder;
  };
  const baseIndex = () => {
    const e = theEmbedder();
    vectorIndex ??= openVectorIndex(cfg, {
      name: vectorBaseName(cfg),
      model: e.modelId,
      dimension: e.dimension,
    });
    return vectorIndex;
  };
  return {
    get embedder() {
      return theEmbedder();
    },
    vectorIndex: baseIndex,
    get collections() {
      collections ??= new CollectionSelector({
        config: cfg,
        registry: new PgCollectionRegistry(pgPool(cfg), cfg.VECTOR_STORE),
        embedder: theEmbedder,
        baseIndex,
        openIndex: (ref) => openVectorIndex(cfg, ref),
        messageFilter,
      });
      return collections;
    },
  };
}

/**
 * Set by the CDK stack's bundler to the one store a deployment uses (lib/trisearch-function.ts), so
 * the other store's adapter and driver are not in the bundle; unbundled (local runtime, CLI, tests)
 * it is undefined and both stores can be picked.
 */
declare const TRISEARCH_VECTOR_STORE: string;

/**
 * One collection's index in the configured vector store: the one line that picks the adapter. The
 * adapter's module is imported on first use; each `import()` sits in a branch the bundler's
 * TRISEARCH_VECTOR_STORE removes when the bundle is built for the other store.
 */
function openVectorIndex(cfg: Config, ref: VectorCollectionRef): VectorCollection {
  const store = cfg.VECTOR_STORE;
  return new LazyVectorCollection(ref.name, store === "opensearch", async () => {
    if (typeof TRISEARCH_VECTOR_STORE === "undefined" || TRISEARCH_VECTOR_STORE === "opensearch") {
      if (store === "opensearch")
        return (await import("./vector-store-opensearch")).openOpenSearchCollection(cfg, ref);
    }
    if (typeof TRISEARCH_VECTOR_STORE === "undefined" || TRISEARCH_VECTOR_STORE === "chroma") {
      if (store === "chroma") return (await import("./vector-store-chroma")).openChromaCollection(cfg, ref);
    }
    throw new Error(
      `VECTOR_STORE=${store}, but this function was built for VECTOR_STORE=${TRISEARCH_VECTOR_STORE} (cdk context vectorStore)`,
    );
  });
}

export const vectorsPart = new Part((cfg) => createVectorPorts(cfg, () => postgres().messageFilter));
export const vectors = (): VectorPorts => vectorsPart.get();
