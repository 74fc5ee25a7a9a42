import { PgConversationAccess } from "../../adapters/postgres/pg-conversation-access";
import { PgDirectory } from "../../adapters/postgres/pg-directory";
import { PgGapStore } from "../../adapters/postgres/pg-gap-store";
import { PgImportProgress } from "../../adapters/postgres/pg-import-progress";
import { PgMessageFilter } from "../../adapters/postgres/pg-message-filter";
import { PgMessageStore } from "../../adapters/postgres/pg-message-store";
import { PgReconcileStore } from "../../adapters/postgres/pg-reconcile-store";
import { PgThreadReader } from "../../adapters/postgres/pg-thread-reader";
import type { AccessStore, ChannelReaders, VisibilityReader } from "../../core/access/access";
import type { DirectoryStore, MentionNames } from "../../core/directory/directory";
import type { NameDirectory } from "../../core/directory/named-filters";
import type { GapStore, WindowMessageSource } from "../../core/gaps/ports";
import { type ContextSource, type IndexContext, neighbourReach } from "../../core/message-context";
import type {
  MessageFilter,
  MessageReader,
  MessageStore,
  OutboxStore,
  SourceChangeBatchStore,
  SourceChangeStore,
  ThreadReader,
} from "../../core/ports";
import type { ReconcileStore, RowPages } from "../../core/reconcile";
import { cachedFactsFilter } from "../../core/search/message-facts";
import { cachedThreadFacts } from "../../core/search/thread-facts";
import type { ImportProgressStore } from "../../core/slack/slack-import";
import { pgPool } from "../clients/pg";
import type { Config } from "../config";
import { Part } from "./part";

/** Everything PostgreSQL answers: messages and their outbox, directory, access, gaps, imports, reconciliation. */
export interface PgPorts {
  readonly store: MessageStore &
    OutboxStore &
    MessageReader &
    SourceChangeStore &
    SourceChangeBatchStore &
    ContextSource;
  /** Search filters answered by PostgreSQL for the semantic leg (filtered-vector-search.ts). */
  readonly messageFilter: MessageFilter;
  /** Threads and neighbours of search hits (group=thread, sort=recent, context=N). */
  readonly threads: ThreadReader;
  /** People and conversations per source: names for results and filters. */
  readonly directory: DirectoryStore & NameDirectory & MentionNames;
  /** Who may read which conversation: audiences and members, read by every search. */
  readonly access: AccessStore & VisibilityReader & ChannelReaders;
  /** Coordination gaps: the detection window's messages and the stored runs (one PostgreSQL adapter). */
  readonly gapWindow: WindowMessageSource;
  readonly gapStore: GapStore;
  /** Import runs' committed day files (a cut-short import resumes after them). */
  readonly importProgress: ImportProgressStore;
  /** Reconciliation's view of PostgreSQL (pages, repair jobs, cursor, lease). */
  readonly reconcileStore: ReconcileStore & RowPages;
  /** What the index writers add to each message (the context policy and where neighbours come from). */
  readonly indexContext: IndexContext;
}

export function createPgPorts(cfg: Config): PgPorts {
  let store: PgMessageStore | undefined;
  let messageFilter: MessageFilter | undefined;
  let threads: ThreadReader | undefined;
  let directory: PgDirectory | undefined;
  let access: PgConversationAccess | undefined;
  let gaps: PgGapStore | undefined;
  let importProgress: PgImportProgress | undefined;
  let reconcileStore: PgReconcileStore | undefined;
  // What the search keeps of messages it read (core/search/recent-reads.ts): filter facts and thread facts.
  const recentReads = {
    maxEntries: cfg.SEARCH_FACTS_CACHE_ENTRIES,
    ttlMs: cfg.SEARCH_FACTS_TTL_SECONDS * 1000,
  };
  const messageStore = () => {
    // The store refreshes the messages whose context a write changes (their next versions).
    store ??= new PgMessageStore(pgPool(cfg), { contextReach: neighbourReach(cfg.contextPolicy) });
    return store;
  };
  const gapStore = () => {
    gaps ??= new PgGapStore(pgPool(cfg));
    return gaps;
  };
  return {
    get store() {
      return messageStore();
    },
    get messageFilter() {
      messageFilter ??= cachedFactsFilter(new PgMessageFilter(pgPool(cfg)), recentReads);
      return messageFilter;
    },
    get threads() {
      threads ??= cachedThreadFacts(new PgThreadReader(pgPool(cfg)), recentReads);
      return threads;
    },
    get directory() {
      directory ??= new PgDirectory(pgPool(cfg));
      return directory;
    },
    get access() {
      access ??= new PgConversationAccess(pgPool(cfg));
      return access;
    },
    get gapWindow() {
      return gapStore();
    },
    get gapStore() {
      return gapStore();
    },
    get importProgress() {
      importProgress ??= new PgImportProgress(pgPool(cfg));
      return importProgress;
    },
    get reconcileStore() {
      reconcileStore ??= new PgReconcileStore(pgPool(cfg));
      return reconcileStore;
    },
    get indexContext() {
      return { policy: cfg.contextPolicy, source: messageStore() };
    },
  };
}

export const postgresPart = new Part(createPgPorts);
export const postgres = (): PgPorts => postgresPart.get();
