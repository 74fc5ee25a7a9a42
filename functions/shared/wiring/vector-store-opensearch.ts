import { OpenSearchVectorIndex } from "../../adapters/opensearch/opensearch-vector-index";
import type { VectorCollection } from "../../core/ports";
import type { VectorCollectionRef } from "../../core/vector-collections";
import { openSearchVectorClient } from "../clients/opensearch";
import type { Config } from "../config";

/** A k-NN index in OpenSearch (VECTOR_STORE=opensearch); loaded by vectors.ts only when that is the store. */
export function openOpenSearchCollection(cfg: Config, ref: VectorCollectionRef): VectorCollection {
  return new OpenSearchVectorIndex(openSearchVectorClient(cfg), ref.name, {
    modelId: ref.model,
    dimension: ref.dimension,
    shards: cfg.OPENSEARCH_VECTOR_SHARDS,
    replicas: cfg.OPENSEARCH_VECTOR_REPLICAS,
  });
}
