import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";

/** A client for the local ElasticMQ (any credentials are accepted). */
export function localSqsClient(): SQSClient {
  return new SQSClient({
    endpoint: "http://127.0.0.1:9324",
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
}

/** Visible + in flight: everything the queue still holds. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const a = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}
