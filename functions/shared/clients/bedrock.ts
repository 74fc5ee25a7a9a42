import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { type Config, config } from "../config";
import { ClientCache, localCredentials } from "./cache";

export const bedrockClients = new ClientCache<BedrockRuntimeClient>((c) => c.destroy());

/**
 * Bedrock: throttling and server faults are retried by the SDK and nowhere else, up to
 * BEDROCK_MAX_ATTEMPTS. Documents (the embedder) use the adaptive mode: after a throttle the client
 * also slows its own sending rate, shared by the container's concurrent calls, instead of every
 * call retrying into the same limit. Queries (search) use the standard mode on a client of their
 * own: a query must not queue behind throttled documents (the rate limiter would hold it past the
 * search function's timeout; test/faults/bedrock-throttling.test.ts), it fails fast and search
 * answers degraded or 503.
 */
export function bedrockClient(
  cfg: Config = config(),
  use: "documents" | "queries" = "documents",
): BedrockRuntimeClient {
  return bedrockClients.get(
    `${cfg.AWS_REGION}|${cfg.BEDROCK_ENDPOINT ?? ""}|${cfg.BEDROCK_MAX_ATTEMPTS}|${use}`,
    () =>
      new BedrockRuntimeClient({
        region: cfg.AWS_REGION,
        retryMode: use === "documents" ? "adaptive" : "standard",
        maxAttempts: cfg.BEDROCK_MAX_ATTEMPTS,
        ...(cfg.BEDROCK_ENDPOINT ? { endpoint: cfg.BEDROCK_ENDPOINT, credentials: localCredentials } : {}),
      }),
  );
}
