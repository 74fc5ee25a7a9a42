import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type { JobRecord, WorkerResult } from "../../functions/core/index-worker";
import { parseJobRecordBody, processJobBatch } from "../../functions/shared/sqs-batch";

const job = (messageId: number, version = 1) => ({ messageId, op: "upsert" as const, version });
const event = (bodies: Record<string, string>): SQSEvent =>
  ({
    Records: Object.entries(bodies).map(([messageId, body]) => ({ messageId, body })),
  }) as unknown as SQSEvent;
const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) =>
  res.batchItemFailures.map((f) => f.itemIdentifier).sort();

describe("parseJobRecordBody", () => {
  it("reads the packed shape and the old single-job shape", () => {
    expect(parseJobRecordBody(JSON.stringify({ jobs: [job(1), job(2, 3)] }))).toEqual([job(1), job(2, 3)]);
    expect(parseJobRecordBody(JSON.stringify(job(7, 2)))).toEqual([job(7, 2)]);
    expect(parseJobRecordBody(JSON.stringify({ messageId: 5, op: "delete", version: 4 }))).toEqual([
      { messageId: 5, op: "delete", version: 4 },
    ]);
  });

  it("rejects anything else, including a packed body with one bad job or no jobs", () => {
    for (const body of [
      "{not json",
      "null",
      "[]",
      JSON.stringify({ jobs: [] }),
      JSON.stringify({ jobs: [job(1), { messageId: "2", op: "upsert", version: 1 }] }),
      JSON.stringify({ jobs: job(1) }),
      JSON.stringify({ messageId: 1, op: "reindex", version: 1 }),
    ])
      expect(parseJobRecordBody(body), body).toBeNull();
  });
});

describe("processJobBatch", () => {
  it("hands every job of every record over, tagged with its record id", async () => {
    let seen: JobRecord[] = [];
    const res = await processJobBatch(
      event({
        a: JSON.stringify({ jobs: [job(1), job(2)] }),
        b: JSON.stringify(job(3)),
      }),
      async (records) => {
        seen = records;
        return { failedRecordIds: [], applied: records.length, errors: [] };
      },
      "test",
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(seen).toEqual([
      { recordId: "a", job: job(1) },
      { recordId: "a", job: job(2) },
      { recordId: "b", job: job(3) },
    ]);
  });

  it("fails a record when any of its jobs failed, and an unparseable record alone", async () => {
    const apply = async (records: JobRecord[]): Promise<WorkerResult> => {
      const bad = records.filter((r) => r.job.messageId === 2);
      return {
        failedRecordIds: bad.map((r) => r.recordId),
        applied: records.length - bad.length,
        errors: bad.map(() => ({ messageId: 2, error: "boom" })),
      };
    };
    const res = await processJobBatch(
      event({
        a: JSON.stringify({ jobs: [job(1), job(2), job(3)] }),
        b: JSON.stringify({ jobs: [job(4), job(5)] }),
        c: JSON.stringify(job(6)),
        poison: "{not json",
      }),
      apply,
      "test",
    );
    expect(failures(res)).toEqual(["a", "poison"]);
  });

  it("retries every parsed record (not twice) when the use case throws", async () => {
    const res = await processJobBatch(
      event({ a: JSON.stringify({ jobs: [job(1), job(2)] }), b: JSON.stringify(job(3)), p: "x" }),
      async () => {
        throw new Error("store down");
      },
      "test",
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["a", "b", "p"]);
  });
});
