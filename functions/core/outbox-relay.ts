import type { IndexJob, IndexTarget } from "./model";
import type { JobMessage, JobPublisher, OutboxEntry, OutboxStore } from "./ports";

export interface RelayReport {
  readonly sent: number;
  readonly failed: number;
}

/**
 * Moves outbox rows to the keyword and vector queues. Called right after a commit with the ids it
 * wrote (fast path) and on a schedule with no ids (catches whatever the fast path left behind).
 */
export async function relayOutbox(
  deps: { outbox: OutboxStore; publisher: JobPublisher },
  opts: { ids?: readonly number[]; batchSize?: number; maxBatches?: number } = {},
): Promise<RelayReport> {
  // Explicit ids are one round, so that round must be able to hold all of them.
  const batchSize = opts.batchSize ?? (opts.ids ? Math.max(1, opts.ids.length) : 100);
  let sent = 0;
  let failed = 0;
  for (let round = 0; round < (opts.maxBatches ?? 50); round++) {
    const ids = opts.ids;
    const result = await deps.outbox.drain({ limit: batchSize, ...(ids ? { ids } : {}) }, (entries) =>
      publishEntries(deps.publisher, entries),
    );
    sent += result.sent;
    failed += result.failed;
    // With explicit ids one round covers them; without, stop when a round is short or nothing moves.
    if (ids || result.sent + result.failed < batchSize || result.sent === 0) break;
  }
  return { sent, failed };
}

/**
 * The fast path right after a commit: publish the rows it wrote now. A failure is only logged:
 * the rows stay in the outbox and the scheduled relay (or reconcile's sweep) sends them.
 */
export async function publishCommitted(
  deps: {
    outbox: OutboxStore;
    publisher: JobPublisher;
    warn?: ((message: string, err: unknown) => void) | undefined;
  },
  outboxIds: readonly number[],
): Promise<RelayReport> {
  if (outboxIds.length === 0) return { sent: 0, failed: 0 };
  try {
    return await relayOutbox(deps, { ids: outboxIds });
  } catch (err) {
    deps.warn?.("outbox publish failed; the scheduled relay will retry", err);
    return { sent: 0, failed: outboxIds.length };
  }
}

/** One queue message to send and the outbox rows (or other caller ids) it carries. */
export interface PackedMessage {
  readonly message: JobMessage;
  readonly entryIds: readonly number[];
}

/**
 * Packs one target's jobs into messages of up to `jobsPerMessage` jobs, in order. A message's id
 * is its first entry's id (unique within the call, and a valid SQS batch entry id).
 */
export function packJobs(
  entries: readonly { id: number; job: IndexJob }[],
  jobsPerMessage: number,
): PackedMessage[] {
  const per = Math.max(1, Math.floor(jobsPerMessage));
  const packed: PackedMessage[] = [];
  for (let i = 0; i < entries.length; i += per) {
    const group = entries.slice(i, i + per);
    packed.push({
      message: { id: String(group[0]?.id), jobs: group.map((e) => e.job) },
      entryIds: group.map((e) => e.id),
    });
  }
  return packed;
}

async function publishEntries(
  publisher: JobPublisher,
  entries: readonly OutboxEntry[],
): Promise<Set<number>> {
  const byTarget = new Map<IndexTarget, OutboxEntry[]>();
  for (const e of entries) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  const accepted = new Set<number>();
  const results = await Promise.allSettled(
    [...byTarget].map(async ([target, list]) => {
      const packed = packJobs(list, publisher.jobsPerMessage);
      const ok = await publisher.publish(
        target,
        packed.map((p) => p.message),
      );
      // A row counts as sent only when the message that carried it was accepted.
      for (const p of packed) if (ok.has(p.message.id)) for (const id of p.entryIds) accepted.add(id);
    }),
  );
  // One queue being down must not stop the other's rows from being marked sent.
  const firstFailure = results.find((r) => r.status === "rejected");
  if (firstFailure && accepted.size === 0) throw (firstFailure as PromiseRejectedResult).reason;
  return accepted;
}
