import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { QUEUES, type QueueName, visibilityTimeoutSeconds } from "../../functions/topology";

export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

interface QueuePair {
  url: string;
  dlqUrl: string;
}

export type QueueUrls = Record<QueueName, QueuePair>;

export interface EnsureQueuesOptions {
  /** Receives before a message moves to the DLQ; default: each queue's in functions/topology.ts. */
  maxReceiveCount?: number;
  /** Seconds a received message stays invisible (default: the topology's); tests use 1 to redeliver fast. */
  visibilityTimeout?: number;
}

/** Creates the queue, or updates its attributes when it exists with other ones (idempotent). */
async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    const res = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (res.QueueUrl) return res.QueueUrl;
  } catch (err) {
    const errName = (err as { name?: string }).name ?? "";
    if (!/QueueAlreadyExists|QueueNameExists/.test(errName)) throw err;
  }
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`queue ${name} has no URL`);
  if (Object.keys(attributes).length) {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  }
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  const arn = res.Attributes?.["QueueArn"];
  if (!arn) throw new Error(`queue ${url} reports no QueueArn`);
  return arn;
}

/**
 * The pipeline's queues of functions/topology.ts, each with a DLQ behind a redrive policy, as the
 * CDK stack defines them in AWS: `<prefix>-<name>` and `<prefix>-<name>-dlq`.
 */
export async function ensureQueues(
  sqs: SQSClient,
  prefix: string,
  opts: EnsureQueuesOptions = {},
): Promise<QueueUrls> {
  const pairs = await Promise.all(
    QUEUE_NAMES.map(async (name): Promise<[QueueName, QueuePair]> => {
      const base = prefix ? `${prefix}-${name}` : name;
      const dlqUrl = await ensureQueue(sqs, `${base}-dlq`, {});
      const deadLetterTargetArn = await queueArn(sqs, dlqUrl);
      const url = await ensureQueue(sqs, base, {
        VisibilityTimeout: String(opts.visibilityTimeout ?? visibilityTimeoutSeconds(name)),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn,
          maxReceiveCount: opts.maxReceiveCount ?? QUEUES[name].maxReceiveCount,
        }),
      });
      return [name, { url, dlqUrl }];
    }),
  );
  return Object.fromEntries(pairs) as QueueUrls;
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
    Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
