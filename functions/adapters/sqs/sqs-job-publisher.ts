import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { IndexTarget } from "../../core/model";
import type { JobMessage, JobPublisher } from "../../core/ports";

const SQS_BATCH_LIMIT = 10;

/**
 * Publishes claim-check jobs with SendMessageBatch, one body `{"jobs":[...]}` per message (several
 * jobs per message: receive and delete calls are paid per message, locally and in AWS); reports
 * only the messages SQS accepted.
 */
export class SqsJobPublisher implements JobPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrls: Readonly<Record<IndexTarget, string>>,
    readonly jobsPerMessage = 25,
  ) {}

  async publish(target: IndexTarget, messages: readonly JobMessage[]): Promise<Set<string>> {
    const accepted = new Set<string>();
    const chunks: (typeof messages)[] = [];
    for (let i = 0; i < messages.length; i += SQS_BATCH_LIMIT)
      chunks.push(messages.slice(i, i + SQS_BATCH_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        const res = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrls[target],
            Entries: chunk.map((m) => ({ Id: m.id, MessageBody: JSON.stringify({ jobs: m.jobs }) })),
          }),
        );
        // A batch call can succeed while single entries fail: only `Successful` counts as sent.
        for (const ok of res.Successful ?? []) if (ok.Id) accepted.add(ok.Id);
      }),
    );
    return accepted;
  }
}
