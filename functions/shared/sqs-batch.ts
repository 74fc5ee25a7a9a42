import type middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { z } from "zod";
import type { JobRecord, WorkerResult } from "../core/index-worker";
import { logger } from "./logger";

const jobSchema = z.object({
  messageId: z.number().int().positive(),
  op: z.enum(["upsert", "delete"]),
  version: z.number().int().positive(),
});

/**
 * Turns an SQS batch into jobs and the use case's result into `batchItemFailures`: a record that
 * cannot be parsed fails alone; if the use case throws, every parsed record is retried.
 */
export async function processJobBatch(
  event: SQSEvent,
  apply: (records: JobRecord[]) => Promise<WorkerResult>,
  worker: string,
): Promise<SQSBatchResponse> {
  const failures = new Set<string>();
  const records: JobRecord[] = [];
  for (const r of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      body = undefined;
    }
    const parsed = jobSchema.safeParse(body);
    if (parsed.success) records.push({ recordId: r.messageId, job: parsed.data });
    else {
      logger.error("unparseable job record", { worker, recordId: r.messageId, body: r.body.slice(0, 200) });
      failures.add(r.messageId);
    }
  }
  if (records.length > 0) {
    try {
      const result = await apply(records);
      for (const id of result.failedRecordIds) failures.add(id);
      if (result.errors.length > 0)
        logger.warn("some jobs failed", { worker, errors: result.errors.slice(0, 20) });
    } catch (err) {
      logger.error("batch failed", { worker, error: err as Error });
      for (const r of records) failures.add(r.recordId);
    }
  }
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}

export type SqsHandler = middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse>;
