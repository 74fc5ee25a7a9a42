import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Client as OpenSearchClient } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws-v3";
import { ChromaClient } from "chromadb";
import pg from "pg";
import { type Config, config } from "./config";

/**
 * Each client is created once per container (Lambda reuses it across invocations) and
 * only on first use, so a function never pays for a client it does not call.
 */
let pool: pg.Pool | undefined;
let openSearch: OpenSearchClient | undefined;
let chroma: ChromaClient | undefined;
let sqs: SQSClient | undefined;
let bedrock: BedrockRuntimeClient | undefined;

export function pgPool(cfg: Config = config()): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: cfg.DATABASE_POOL_MAX });
    // An idle connection closed by the server (failover, proxy timeout) must not crash the
    // container: the pool drops it and the next query opens a new one.
    pool.on("error", (err) => console.warn(`postgres idle client error: ${err.message}`));
  }
  return pool;
}

export function openSearchClient(cfg: Config = config()): OpenSearchClient {
  openSearch ??= new OpenSearchClient({
    node: cfg.OPENSEARCH_URL,
    // The AWS domain admits only requests signed by a granted IAM role (no resource policy).
    ...(cfg.OPENSEARCH_AUTH === "sigv4" ? AwsSigv4Signer({ region: cfg.AWS_REGION, service: "es" }) : {}),
  });
  return openSearch;
}

export function chromaClient(cfg: Config = config()): ChromaClient {
  if (!chroma) {
    const url = new URL(cfg.CHROMA_URL);
    chroma = new ChromaClient({
      host: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      ssl: url.protocol === "https:",
    });
  }
  return chroma;
}

/** Local endpoints take any credentials; in AWS the default provider chain applies. */
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export function sqsClient(cfg: Config = config()): SQSClient {
  sqs ??= new SQSClient({
    region: cfg.AWS_REGION,
    ...(cfg.SQS_ENDPOINT ? { endpoint: cfg.SQS_ENDPOINT, credentials: localCredentials } : {}),
  });
  return sqs;
}

export function bedrockClient(cfg: Config = config()): BedrockRuntimeClient {
  bedrock ??= new BedrockRuntimeClient({
    region: cfg.AWS_REGION,
    ...(cfg.BEDROCK_ENDPOINT ? { endpoint: cfg.BEDROCK_ENDPOINT, credentials: localCredentials } : {}),
  });
  return bedrock;
}

/** Closes what was opened (CLI commands and tests end cleanly instead of hanging on sockets). */
export async function closeClients(): Promise<void> {
  const closing: Promise<unknown>[] = [];
  if (pool) closing.push(pool.end());
  if (openSearch) closing.push(openSearch.close());
  sqs?.destroy();
  bedrock?.destroy();
  pool = undefined;
  openSearch = undefined;
  chroma = undefined;
  sqs = undefined;
  bedrock = undefined;
  await Promise.allSettled(closing);
}
