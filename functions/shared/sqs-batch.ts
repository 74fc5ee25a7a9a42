import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as z from "zod";
import type { JobRecord, WorkerResult } from "../core/index-worker";
import type { IndexJob } from "../core/model";
import { logger } from "./logger";

const jobSchema = z.object({
  messageId: z.number().int().positive(),
  op: z.enum(["upsert", "delete"]),
  version: z.number().int().positive(),
});

/**
 * A record's body: `{"jobs":[...]}` (the relay packs several jobs per message) or a single job
 * (the old shape, still in the queues for a while after a deploy).
 */
const bodySchema = z.union([
  z.object({ jobs: z.array(jobSchema).min(1) }).transform((b) => b.jobs),
  jobSchema.transform((j) => [j]),
]);

/** The jobs an SQS record carries, or null when its body is not a job record (poison). */
export function parseJobRecordBody(body: string): IndexJob[] | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = bodySchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/**
 * Turns an SQS batch into jobs and the use case's result into `batchItemFailures`: a record that
 * cannot be parsed fails alone; a record fails if any of its jobs failed; if the use case throws,
 * every parsed record is retried. Retrying a record re-applies its jobs that did succeed: harmless,
 * since the workers dedupe by message id, write the current row and never move a version backwards.
 */
export async function processJobBatch(
  event: SQSEvent,
  apply: (records: JobRecord[]) => Promise<WorkerResult>,
  worker: string,
): Promise<SQSBatchResponse> {
  const failures = new Set<string>();
  const records: JobRecord[] = [];
  for (const r of event.Records) {
    const jobs = parseJobRecordBody(r.body);
    // Each job keeps its record's id, so a failed job reports (only) the record that carried it.
    if (jobs) for (const job of jobs) records.push({ recordId: r.messageId, job });
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
  return retryRecords(failures);
}

/** An SQS consumer's answer: the records to retry (the rest are deleted from the queue). */
export function retryRecords(recordIds: Iterable<string>): SQSBatchResponse {
  return { batchItemFailures: [...recordIds].map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * Each record's body applied on its own (in parallel): a record that throws is logged and reported
 * failed alone, so it is retried and, after maxReceiveCount, kept by the DLQ for inspection.
 */
export async function processRecords(
  event: SQSEvent,
  apply: (body: string) => Promise<unknown>,
  worker: string,
): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(event.Records.map((r) => apply(r.body)));
  const failed = outcomes.flatMap((o, i) => {
    if (o.status === "fulfilled") return [];
    const recordId = event.Records[i]!.messageId;
    logger.warn("record failed", { worker, recordId, error: o.reason as Error });
    return [recordId];
  });
  return retryRecords(failed);
}

/**
 * One job per record, each parsed with `schema` and applied on its own (see processRecords). A body
 * that does not parse, or a PermanentError, fails its record too.
 */
export async function processJsonRecords<T>(
  event: SQSEvent,
  schema: z.ZodType<T>,
  apply: (job: T) => Promise<unknown>,
  worker: string,
): Promise<SQSBatchResponse> {
  return processRecords(
    event,
    async (body) => {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new Error("record body is not JSON");
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw new Error(`invalid record: ${parsed.error.issues[0]?.message ?? "?"}`);
      await apply(parsed.data);
    },
    worker,
  );
}
