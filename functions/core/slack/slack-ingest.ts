import { toAppError } from "../errors";
import { applySourceChange } from "../ingest";
import type { JobPublisher, OutboxStore, SourceChangeStore } from "../ports";
import type { SourceChangeStatus } from "../source-change";
import { mapSlackEvent, type SlackMappingOptions } from "./slack-events";

export interface SlackIngestDeps {
  readonly store: SourceChangeStore;
  readonly outbox: OutboxStore;
  readonly publisher: JobPublisher;
  readonly warn?: (message: string, err: unknown) => void;
}

export interface SlackIngestResult {
  /** Record ids to report as `batchItemFailures` (retried, then the DLQ). */
  readonly failedRecordIds: string[];
  /** How many records ended in each status, including `ignored:<reason>`. */
  readonly counts: Record<string, number>;
  readonly errors: { recordId: string; code: string; error: string }[];
}

/**
 * The ingest queue's consumer: each record is one Events API envelope, applied through the same
 * write path as POST /messages. Records are independent: one that fails is the only one retried.
 */
export async function ingestSlackRecords(
  deps: SlackIngestDeps,
  records: readonly { recordId: string; body: string }[],
  opts: SlackMappingOptions,
): Promise<SlackIngestResult> {
  const counts: Record<string, number> = {};
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const failedRecordIds: string[] = [];
  const errors: SlackIngestResult["errors"] = [];
  // One at a time: a batch is small and each record is one short transaction.
  for (const r of records) {
    try {
      const op = mapSlackEvent(JSON.parse(r.body), opts);
      if (op.kind === "ignore") {
        count(`ignored:${op.reason}`);
        continue;
      }
      const outcome = await applySourceChange(deps, op.change);
      count(outcome.status satisfies SourceChangeStatus);
    } catch (err) {
      const e = toAppError(err);
      failedRecordIds.push(r.recordId);
      errors.push({ recordId: r.recordId, code: e.code, error: e.message });
      count("failed");
    }
  }
  return { failedRecordIds, counts, errors };
}
