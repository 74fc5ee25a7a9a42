import type { AccessStore } from "../access/access";
import { type DirectoryLookup, type DirectoryStore, learnUnknownIds } from "../directory/directory";
import { toAppError } from "../errors";
import { applySourceChange } from "../ingest";
import type { SourceRef } from "../model";
import type { JobPublisher, OutboxStore, SourceChangeStore } from "../ports";
import type { SourceChangeStatus } from "../source-change";
import { mapDirectoryEvent } from "./slack-directory";
import { mapSlackEvent, type SlackMappingOptions } from "./slack-events";
import { mapAccessEvent } from "./slack-membership";
import { isSlackConversationId, isSlackUserId, mentionedIds } from "./slack-mentions";

export interface SlackIngestDeps {
  readonly store: SourceChangeStore;
  readonly outbox: OutboxStore;
  readonly publisher: JobPublisher;
  /** Kept current from user_change, channel_rename...; without it those events are ignored. */
  readonly directory?: DirectoryStore;
  /** Who may read which conversation: kept current from membership, channel and message events. */
  readonly access?: AccessStore;
  /** Slack's Web API (only with a bot token): names for ids the directory does not know yet. */
  readonly lookup?: DirectoryLookup;
  readonly warn?: (message: string, err: unknown) => void;
}

export interface SlackIngestResult {
  /** Record ids to report as `batchItemFailures` (retried, then the DLQ). */
  readonly failedRecordIds: string[];
  /** How many records ended in each status, including `ignored:<reason>` and `directory:<kind>`. */
  readonly counts: Record<string, number>;
  readonly errors: { recordId: string; code: string; error: string }[];
}

/**
 * The ingest queue's consumer: each record is one Events API envelope. Messages go through the
 * same write path as POST /messages; user and conversation events update the directory. Records
 * are independent: one that fails is the only one retried.
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
  const seen = new Map<string, { source: SourceRef; users: Set<string>; conversations: Set<string> }>();
  // One at a time: a batch is small and each record is one short transaction.
  for (const r of records) {
    try {
      const envelope: unknown = JSON.parse(r.body);
      // Before the message itself: a message is never searchable before its conversation's audience.
      const accessChanges = deps.access ? mapAccessEvent(envelope, opts) : [];
      if (accessChanges.length > 0 && deps.access) {
        // Idempotent on its own (the newest Slack time wins per fact).
        await deps.access.apply(accessChanges);
        count("access");
      }
      const directoryChange = deps.directory ? mapDirectoryEvent(envelope, opts) : null;
      if (directoryChange && deps.directory) {
        // Idempotent on its own (newest source time wins per field): no event-id dedupe needed.
        await deps.directory.apply(directoryChange);
        count(`directory:${directoryChange.kind}`);
        continue;
      }
      const op = mapSlackEvent(envelope, opts);
      if (op.kind === "ignore") {
        count(`ignored:${op.reason}`);
        continue;
      }
      const outcome = await applySourceChange(deps, op.change);
      count(outcome.status satisfies SourceChangeStatus);
      if (op.change.kind === "upsert") {
        const m = op.change.message;
        const key = `${op.change.source.type}:${op.change.source.name}`;
        const ids = seen.get(key) ?? { source: op.change.source, users: new Set(), conversations: new Set() };
        seen.set(key, ids);
        const mentioned = mentionedIds(m.content);
        for (const u of [m.author, ...mentioned.users]) if (isSlackUserId(u)) ids.users.add(u);
        for (const c of [m.channel, ...mentioned.conversations])
          if (isSlackConversationId(c)) ids.conversations.add(c);
      }
    } catch (err) {
      const e = toAppError(err);
      failedRecordIds.push(r.recordId);
      errors.push({ recordId: r.recordId, code: e.code, error: e.message });
      count("failed");
    }
  }
  if (deps.directory && deps.lookup) {
    for (const ids of seen.values()) {
      try {
        await learnUnknownIds(
          { directory: deps.directory, lookup: deps.lookup, warn: deps.warn },
          ids.source,
          {
            users: [...ids.users],
            conversations: [...ids.conversations],
          },
        );
      } catch (err) {
        // Names are a convenience: the messages are stored, the ids stay ids until the next try.
        deps.warn?.("directory look-up failed", err);
      }
    }
  }
  return { failedRecordIds, counts, errors };
}
