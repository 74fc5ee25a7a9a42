import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Client as OpenSearchClient } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws-v3";
import { ChromaClient } from "chromadb";
import pg from "pg";
import { ChromaQueryHttp } from "../adapters/chroma/chroma-query-http";
import { type Config, config } from "./config";
import { logger } from "./logger";

/**
 * Each client is created once per container (Lambda reuses it across invocations) and only on
 * first use, so a function never pays for a client it does not call. Clients are kept per
 * endpoint: a config pointing elsewhere (a test namespace, an eval run) gets its own client
 * instead of silently reusing the first one.
 */
const pools = new Map<string, pg.Pool>();
const openSearchClients = new Map<string, OpenSearchClient>();
const chromaClients = new Map<string, ChromaClient>();
const chromaQueryClients = new Map<string, ChromaQueryHttp>();
const sqsClients = new Map<string, SQSClient>();
const bedrockClients = new Map<string, BedrockRuntimeClient>();
const s3Clients = new Map<string, S3Client>();

function once<T>(cache: Map<string, T>, key: string, create: () => T): T {
  let client = cache.get(key);
  if (!client) {
    client = create();
    cache.set(key, client);
  }
  return client;
}

export function pgPool(cfg: Config = config()): pg.Pool {
  return once(pools, cfg.DATABASE_URL, () => {
    const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: cfg.DATABASE_POOL_MAX });
    // An idle connection closed by the server (failover, proxy timeout) must not crash the
    // container: the pool drops it and the next query opens a new one.
    pool.on("error", (err) => logger.warn("postgres idle client error", { error: err }));
    return pool;
  });
}

export function openSearchClient(cfg: Config = config()): OpenSearchClient {
  return once(
    openSearchClients,
    `${cfg.OPENSEARCH_URL}|${cfg.OPENSEARCH_AUTH}`,
    () =>
      new OpenSearchClient({
        node: cfg.OPENSEARCH_URL,
        // The AWS domain admits only requests signed by a granted IAM role.
        ...(cfg.OPENSEARCH_AUTH === "sigv4" ? AwsSigv4Signer({ region: cfg.AWS_REGION, service: "es" }) : {}),
      }),
  );
}

export function chromaClient(cfg: Config = config()): ChromaClient {
  return once(chromaClients, cfg.CHROMA_URL, () => {
    const url = new URL(cfg.CHROMA_URL);
    return new ChromaClient({
      host: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      ssl: url.protocol === "https:",
    });
  });
}

/** Chroma's query endpoint on a keep-alive node:http agent (the search hot path, see chroma-query-http.ts). */
export function chromaQueryHttp(cfg: Config = config()): ChromaQueryHttp {
  return once(chromaQueryClients, cfg.CHROMA_URL, () => new ChromaQueryHttp(cfg.CHROMA_URL));
}

/** Local endpoints take any credentials; in AWS the default provider chain applies. */
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export function sqsClient(cfg: Config = config()): SQSClient {
  return once(
    sqsClients,
    `${cfg.AWS_REGION}|${cfg.SQS_ENDPOINT ?? ""}`,
    () =>
      new SQSClient({
        region: cfg.AWS_REGION,
        ...(cfg.SQS_ENDPOINT ? { endpoint: cfg.SQS_ENDPOINT, credentials: localCredentials } : {}),
      }),
  );
}

export function s3Client(cfg: Config = config()): S3Client {
  return once(
    s3Clients,
    `${cfg.AWS_REGION}|${cfg.S3_ENDPOINT ?? ""}`,
    () =>
      new S3Client({
        region: cfg.AWS_REGION,
        ...(cfg.S3_ENDPOINT
          ? { endpoint: cfg.S3_ENDPOINT, forcePathStyle: true, credentials: localCredentials }
          : {}),
      }),
  );
}

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
  return once(
    bedrockClients,
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

/** Closes what was opened (CLI commands and tests end cleanly instead of hanging on sockets). */
export async function closeClients(): Promise<void> {
  const closing: Promise<unknown>[] = [
    ...[...pools.values()].map((p) => p.end()),
    ...[...openSearchClients.values()].map((c) => c.close()),
  ];
  for (const c of sqsClients.values()) c.destroy();
  for (const c of bedrockClients.values()) c.destroy();
  for (const c of s3Clients.values()) c.destroy();
  for (const c of chromaQueryClients.values()) c.close();
  for (const cache of [
    pools,
    openSearchClients,
    chromaClients,
    chromaQueryClients,
    sqsClients,
    bedrockClients,
    s3Clients,
  ])
    cache.clear();
  await Promise.allSettled(closing);
}
