import { ChromaVectorIndex } from "../../adapters/chroma/chroma-vector-index";
import { OpenSearchVectorIndex } from "../../adapters/opensearch/opensearch-vector-index";
import { PgCollectionRegistry } from "../../adapters/postgres/pg-collection-registry";
import type { Embedder, MessageFilter, VectorCollection } from "../../core/ports";
import type { VectorCollectionRef } from "../../core/vector-collections";
import { chromaClient, chromaQueryHttp } from "../clients/chroma";
import { openSearchVectorClient } from "../clients/opensearch";
import { pgPool } from "../clients/pg";
import { CollectionSelector, vectorBaseName } from "../collection-selector";
import type { Config } from "../config";
import { createEmbedder } from "../embedder-factory";
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

/** One collection's index in the configured vector store: the one line that picks the adapter. */
function openVectorIndex(cfg: Config, ref: VectorCollectionRef): VectorCollection {
  if (cfg.VECTOR_STORE === "opensearch") {
    return new OpenSearchVectorIndex(openSearchVectorClient(cfg), ref.name, {
      modelId: ref.model,
      dimension: ref.dimension,
      shards: cfg.OPENSEARCH_VECTOR_SHARDS,
      replicas: cfg.OPENSEARCH_VECTOR_REPLICAS,
    });
  }
  return new ChromaVectorIndex(chromaClient(cfg), ref.name, {
    modelId: ref.model,
    dimension: ref.dimension,
    queryHttp: chromaQueryHttp(cfg),
  });
}

export const vectorsPart = new Part((cfg) => createVectorPorts(cfg, () => postgres().messageFilter));
export const vectors = (): VectorPorts => vectorsPart.get();
