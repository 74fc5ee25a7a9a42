import { type AccessStore, declaredAccess, type Visibility } from "./access/access";
import { NotFoundError } from "./errors";
import type { MessageInput, SourceRef } from "./model";
import { publishCommitted } from "./outbox-relay";
import type { IngestOutcome, JobPublisher, MessageStore, OutboxStore, SourceChangeStore } from "./ports";
import type { SourceChange, SourceChangeOutcome } from "./source-change";

export interface IngestDeps {
  readonly store: MessageStore;
  readonly outbox: OutboxStore;
  readonly publisher: JobPublisher;
  readonly warn?: (message: string, err: unknown) => void;
}

/**
 * One write to PostgreSQL (messages + outbox in one transaction), then a best-effort publish of
 * that transaction's outbox rows. If publishing fails the rows stay pending and the scheduled
 * relay sends them: an accepted message is never lost. The conversations' visibility is recorded
 * first, so no message is ever searchable under an audience it was not declared with.
 */
export async function ingestMessages(
  deps: IngestDeps & { readonly access?: AccessStore },
  source: SourceRef,
  messages: readonly MessageInput[],
  visibility?: Visibility,
): Promise<IngestOutcome[]> {
  await deps.access?.apply(
    declaredAccess(
      source,
      messages.map((m) => m.channel),
      visibility,
      new Date(),
    ),
  );
  const { outcomes, outboxIds } = await deps.store.ingest(source, messages);
  await publishCommitted(deps, outboxIds);
  return outcomes;
}

export async function deleteMessage(
  deps: IngestDeps,
  messageId: number,
): Promise<{ version: number; changed: boolean }> {
  const result = await deps.store.softDelete(messageId);
  if (!result) throw new NotFoundError(`message ${messageId} does not exist`);
  await publishCommitted(deps, result.outboxIds);
  return { version: result.version, changed: result.changed };
}

/**
 * The second door into the same write path (Slack events): one transaction applies the change
 * (deduped by event id, ordered by source time) with its outbox rows, then the same publish.
 */
export async function applySourceChange(
  deps: Omit<IngestDeps, "store"> & { readonly store: SourceChangeStore },
  change: SourceChange,
): Promise<SourceChangeOutcome> {
  const { outcome, outboxIds } = await deps.store.applySourceChange(change);
  await publishCommitted(deps, outboxIds);
  return outcome;
}
