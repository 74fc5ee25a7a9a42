import { Client as OpenSearchClient } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws-v3";
import { type Config, config } from "../config";
import { ClientCache } from "./cache";

export const openSearchClients = new ClientCache<OpenSearchClient>((c) => c.close());

export function openSearchClient(cfg: Config = config()): OpenSearchClient {
  return openSearchAt(cfg.OPENSEARCH_URL, cfg);
}

/** The OpenSearch that holds the k-NN vector index (VECTOR_STORE=opensearch). */
export function openSearchVectorClient(cfg: Config = config()): OpenSearchClient {
  return openSearchAt(cfg.OPENSEARCH_VECTOR_URL, cfg);
}

function openSearchAt(url: string, cfg: Config): OpenSearchClient {
  return openSearchClients.get(
    `${url}|${cfg.OPENSEARCH_AUTH}`,
    () =>
      new OpenSearchClient({
        node: url,
        // The AWS domain admits only requests signed by a granted IAM role.
        ...(cfg.OPENSEARCH_AUTH === "sigv4" ? AwsSigv4Signer({ region: cfg.AWS_REGION, service: "es" }) : {}),
      }),
  );
}
