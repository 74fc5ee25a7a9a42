import { S3Client } from "@aws-sdk/client-s3";
import { type Config, config } from "../config";
import { ClientCache, localCredentials } from "./cache";

export const s3Clients = new ClientCache<S3Client>((c) => c.destroy());

export function s3Client(cfg: Config = config()): S3Client {
  return s3Clients.get(
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
