import { ChromaVectorIndex } from "../../adapters/chroma/chroma-vector-index";
import { PgCollectionRegistry } from "../../adapters/postgres/pg-collection-registry";
import type { Embedder, MessageFilter } from "../../core/ports";
import { chromaClient, chromaQueryHttp } from "../clients/chroma";
import { pgPool } from "../clients/pg";
import { CollectionSelector } from "../collection-selector";
import type { Config } from "../config";
import { createEmbedder } from "../embedder-factory";
import { Part } from "./part";
import { postgres } from "./postgres";

export interface VectorPorts {
  readonly embedder: Embedder;
  /** The base collection's index; what the workers write and search reads is `collections`' call. */
  vectorIndex(): ChromaVectorIndex;
  /** Which vector collection search reads and the embedder writes (embedding model switches). */
  readonly collections: CollectionSelector;
}

/** `messageFilter`: the semantic leg's PostgreSQL filter (the container's PgPorts). */
export function createVectorPorts(cfg: Config, messageFilter: () => MessageFilter): VectorPorts {
  let embedder: Embedder | undefined;
  let vectorIndex: ChromaVectorIndex | undefined;
  let collections: CollectionSelector | undefined;
  const theEmbedder = () => {
    embedder ??= createEmbedder(cfg);
    return embedder;
  };
  const baseIndex = () => {
    const e = theEmbedder();
    vectorIndex ??= new ChromaVectorIndex(chromaClient(cfg), cfg.CHROMA_COLLECTION, {
      modelId: e.modelId,
      dimension: e.dimension,
      queryHttp: chromaQueryHttp(cfg),
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
        registry: new PgCollectionRegistry(pgPool(cfg)),
        embedder: theEmbedder,
        baseIndex,
        messageFilter,
      });
      return collections;
    },
  };
}

export const vectorsPart = new Part((cfg) => createVectorPorts(cfg, () => postgres().messageFilter));
export const vectors = (): VectorPorts => vectorsPart.get();
