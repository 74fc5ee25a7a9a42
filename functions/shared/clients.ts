import { bedrockClients } from "./clients/bedrock";
import { chromaClients, chromaQueryClients } from "./clients/chroma";
import { openSearchClients } from "./clients/opensearch";
import { pgPools } from "./clients/pg";
import { s3Clients } from "./clients/s3";
import { sqsClients } from "./clients/sqs";

/**
 * Every client kind in one place for the CLI, the local runtime and tests. Functions import the
 * module of the client they call (clients/pg.ts, clients/sqs.ts, ...): a bundle carries only those.
 */
export { bedrockClient } from "./clients/bedrock";
export { chromaClient, chromaQueryHttp } from "./clients/chroma";
export { openSearchClient, openSearchVectorClient } from "./clients/opensearch";
export { pgPool } from "./clients/pg";
export { sqsClient } from "./clients/sqs";

/** Closes what was opened (CLI commands and tests end cleanly instead of hanging on sockets). */
export async function closeClients(): Promise<void> {
  await Promise.allSettled(
    [
      pgPools,
      openSearchClients,
      chromaClients,
      chromaQueryClients,
      sqsClients,
      bedrockClients,
      s3Clients,
    ].map((cache) => cache.close()),
  );
}
