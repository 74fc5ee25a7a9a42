import { ChromaVectorIndex } from "../../adapters/chroma/chroma-vector-index";
import type { VectorCollection } from "../../core/ports";
import type { VectorCollectionRef } from "../../core/vector-collections";
import { chromaClient, chromaQueryHttp } from "../clients/chroma";
import type { Config } from "../config";

/** A collection in Chroma (VECTOR_STORE=chroma); loaded by vectors.ts only when that is the store. */
export function openChromaCollection(cfg: Config, ref: VectorCollectionRef): VectorCollection {
  return new ChromaVectorIndex(chromaClient(cfg), ref.name, {
    modelId: ref.model,
    dimension: ref.dimension,
    queryHttp: chromaQueryHttp(cfg),
  });
}
