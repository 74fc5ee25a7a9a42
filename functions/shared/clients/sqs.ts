import { SQSClient } from "@aws-sdk/client-sqs";
import { type Config, config } from "../config";
import { ClientCache, localCredentials } from "./cache";

export const sqsClients = new ClientCache<SQSClient>((c) => c.destroy());

export function sqsClient(cfg: Config = config()): SQSClient {
  return sqsClients.get(
    `${cfg.AWS_REGION}|${cfg.SQS_ENDPOINT ?? ""}`,
    () =>
      new SQSClient({
        region: cfg.AWS_REGION,
        ...(cfg.SQS_ENDPOINT ? { endpoint: cfg.SQS_ENDPOINT, credentials: localCredentials } : {}),
      }),
  );
}
