import type { IndexTarget } from "./model";
import type { JobPublisher, OutboxEntry, OutboxStore } from "./ports";

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
  const batchSize = opts.batchSize ?? 100;
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

async function publishEntries(
  publisher: JobPublisher,
  entries: readonly OutboxEntry[],
): Promise<Set<number>> {
  const byTarget = new Map<IndexTarget, OutboxEntry[]>();
  for (const e of entries) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  const accepted = new Set<number>();
  const results = await Promise.allSettled(
    [...byTarget].map(async ([target, list]) => {
      const ok = await publisher.publish(
        target,
        list.map((e) => ({ id: String(e.id), job: e.job })),
      );
      for (const id of ok) accepted.add(Number(id));
    }),
  );
  // One queue being down must not stop the other's rows from being marked sent.
  const firstFailure = results.find((r) => r.status === "rejected");
  if (firstFailure && accepted.size === 0) throw (firstFailure as PromiseRejectedResult).reason;
  return accepted;
}
