import { SQSClient } from "@aws-sdk/client-sqs";

/** A client for the local ElasticMQ (any credentials are accepted). */
export function localSqsClient(): SQSClient {
  return new SQSClient({
    endpoint: "http://127.0.0.1:9324",
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
}

export { queueDepth } from "../../local/stack/queues";
