import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { IndexJob, IndexTarget } from "../../core/model";
import type { JobPublisher } from "../../core/ports";

const SQS_BATCH_LIMIT = 10;

/** Publishes claim-check jobs with SendMessageBatch; reports only the entries SQS accepted. */
export class SqsJobPublisher implements JobPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrls: Readonly<Record<IndexTarget, string>>,
  ) {}

  async publish(
    target: IndexTarget,
    entries: readonly { id: string; job: IndexJob }[],
  ): Promise<Set<string>> {
    const accepted = new Set<string>();
    const chunks: (typeof entries)[] = [];
    for (let i = 0; i < entries.length; i += SQS_BATCH_LIMIT)
      chunks.push(entries.slice(i, i + SQS_BATCH_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        const res = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrls[target],
            Entries: chunk.map((e) => ({ Id: e.id, MessageBody: JSON.stringify(e.job) })),
          }),
        );
        // A batch call can succeed while single entries fail: only `Successful` counts as sent.
        for (const ok of res.Successful ?? []) if (ok.Id) accepted.add(ok.Id);
      }),
    );
    return accepted;
  }
}
