import type { MessageInput, SourceRef } from "./model";

/**
 * A change that a source system (Slack) reports about one of its messages, carrying the source's
 * own time so that the final state does not depend on arrival order.
 */
export type SourceChange =
  | {
      readonly kind: "upsert";
      /** The source's event id: the durable dedupe key. */
      readonly eventId: string;
      readonly source: SourceRef;
      readonly message: MessageInput;
      /** Microseconds since the epoch at which the source produced this state of the message. */
      readonly sourceTimeUs: bigint;
    }
  | {
      readonly kind: "delete";
      readonly eventId: string;
      readonly source: SourceRef;
      readonly externalId: string;
      readonly sourceTimeUs: bigint;
    };

export type SourceChangeStatus =
  | "created"
  | "updated"
  | "unchanged"
  /** Older than what the row already holds. */
  | "stale"
  /** The message is deleted (or tombstoned): nothing brings it back. */
  | "ignored_deleted"
  | "deleted"
  | "already_deleted"
  /** The event id was applied before. */
  | "duplicate";

export interface SourceChangeOutcome {
  readonly eventId: string;
  readonly externalId: string;
  readonly status: SourceChangeStatus;
  readonly messageId: number | null;
  readonly version: number | null;
}

/** What the store knows about one (source, external id) when a change arrives. */
export interface SourceState {
  readonly row: {
    readonly sourceTimeUs: bigint | null;
    readonly contentHash: string;
    readonly deleted: boolean;
  } | null;
  readonly tombstoned: boolean;
}

export type UpsertDecision = "insert" | "update" | "touch" | "stale" | "deleted";

/**
 * Newest source time wins; a delete is final. Ties (same source time, different content) go to
 * the greater content hash, so any arrival order ends in the same state. "touch" advances the
 * source time without changing the indexed fields (no new version), so that an older edit
 * arriving later is still recognised as stale.
 */
export function decideUpsert(
  state: SourceState,
  incoming: { sourceTimeUs: bigint; contentHash: string },
): UpsertDecision {
  if (state.tombstoned || state.row?.deleted) return "deleted";
  const row = state.row;
  if (!row) return "insert";
  if (row.sourceTimeUs !== null) {
    if (incoming.sourceTimeUs < row.sourceTimeUs) return "stale";
    if (incoming.sourceTimeUs === row.sourceTimeUs && incoming.contentHash <= row.contentHash) return "stale";
  }
  return incoming.contentHash === row.contentHash ? "touch" : "update";
}

export type DeleteDecision = "soft_delete" | "tombstone_only" | "already_deleted";

/** A delete always wins (a deleted Slack message cannot be edited or re-posted with its ts). */
export function decideDelete(state: SourceState): DeleteDecision {
  if (state.tombstoned) return "already_deleted";
  if (state.row && !state.row.deleted) return "soft_delete";
  return "tombstone_only";
}
