import { ChromaVectorIndex } from "../adapters/chroma/chroma-vector-index";
import { OpenSearchKeywordIndex } from "../adapters/opensearch/opensearch-keyword-index";
import { PgCollectionRegistry } from "../adapters/postgres/pg-collection-registry";
import { PgConversationAccess } from "../adapters/postgres/pg-conversation-access";
import { PgDirectory } from "../adapters/postgres/pg-directory";
import { PgGapStore } from "../adapters/postgres/pg-gap-store";
import { PgImportProgress } from "../adapters/postgres/pg-import-progress";
import { PgMessageFilter } from "../adapters/postgres/pg-message-filter";
import { PgMessageStore } from "../adapters/postgres/pg-message-store";
import { PgReconcileStore } from "../adapters/postgres/pg-reconcile-store";
import { PgThreadReader } from "../adapters/postgres/pg-thread-reader";
import { S3ExportOpener } from "../adapters/s3/s3-export-opener";
import { HttpSlackResponder } from "../adapters/slack/slack-response-url";
import { SlackWebLookup } from "../adapters/slack/slack-web-lookup";
import { ZipExportArchive } from "../adapters/slack/zip-export-archive";
import { SqsEventQueue } from "../adapters/sqs/sqs-event-queue";
import { SqsJobPublisher } from "../adapters/sqs/sqs-job-publisher";
import type { DirectoryLookup } from "../core/directory/directory";
import type { GapStore, WindowMessageSource } from "../core/gaps/ports";
import { type IndexContext, legVersion, neighbourReach } from "../core/message-context";
import type { Embedder, SlackResponder } from "../core/ports";
import type { SlackMembershipSource } from "../core/slack/membership-sync";
import { chromaClient, chromaQueryHttp, openSearchClient, pgPool, s3Client, sqsClient } from "./clients";
import { CollectionSelector } from "./collection-selector";
import { type Config, config, queueUrl } from "./config";
import { resolveCursorSecret } from "./cursor-secret";
import { createEmbedder } from "./embedder-factory";
import { logger } from "./logger";

/**
 * The one place ports meet adapters. Everything is built on first use and kept for the life of
 * the container, so swapping a store is one adapter plus one line here.
 */
export interface Container {
  readonly config: Config;
  readonly store: PgMessageStore;
  /** Search filters answered by PostgreSQL for the semantic leg (filtered-vector-search.ts). */
  readonly messageFilter: PgMessageFilter;
  /** Threads and neighbours of search hits (group=thread, sort=recent, context=N). */
  readonly threads: PgThreadReader;
  readonly publisher: SqsJobPublisher;
  /** People and conversations per source: names for results and filters. */
  readonly directory: PgDirectory;
  /** Who may read which conversation: audiences and members, read by every search. */
  readonly access: PgConversationAccess;
  /** Coordination gaps: the detection window's messages and the stored runs (one PostgreSQL adapter). */
  readonly gapWindow: WindowMessageSource;
  readonly gapStore: GapStore;
  /** Slack's Web API for ids the directory lacks; undefined without SLACK_BOT_TOKEN. */
  readonly directoryLookup: DirectoryLookup | undefined;
  /** Slack's member lists for the scheduled membership resync; undefined without SLACK_BOT_TOKEN. */
  readonly slackMembership: SlackMembershipSource | undefined;
  /** Import runs' committed day files (a cut-short import resumes after them). */
  readonly importProgress: PgImportProgress;
  /** Uploaded exports (S3) and the import queue a cut-short import continues through. */
  readonly exportOpener: S3ExportOpener;
  readonly importQueue: SqsEventQueue;
  /** The ingest queue (Slack events in, the ingest consumer out). */
  readonly ingestQueue: SqsEventQueue;
  /** The slash command's search jobs (POST /slack/commands -> slack-command-search). */
  readonly commandsQueue: SqsEventQueue;
  /** Finished slash command replies (slack-command-search -> slack-reply). */
  readonly repliesQueue: SqsEventQueue;
  readonly slackResponder: SlackResponder;
  readonly embedder: Embedder;
  /** What the index writers add to each message (the context policy and where neighbours come from). */
  readonly indexContext: IndexContext;
  /**
   * The keyword index adapter. It does not create the index: writes create it with its mapping
   * (OpenSearchKeywordIndex.ensureIndex), search treats a missing index as empty, and read-only
   * commands (verify, reconcile --dry-run) check exists() instead of creating one.
   */
  keywordIndex(): OpenSearchKeywordIndex;
  /** The base collection's index; what the workers write and search reads is `collections`' call. */
  vectorIndex(): ChromaVectorIndex;
  /** Which vector collection search reads and the embedder writes (embedding model switches). */
  readonly collections: CollectionSelector;
  /** Reconciliation's view of PostgreSQL (pages, repair jobs, cursor, lease). */
  readonly reconcileStore: PgReconcileStore;
  /** The key search cursors are signed with (cursor-secret.ts). */
  readonly cursorKey: string;
  readonly warn: (message: string, err: unknown) => void;
}

export function createContainer(cfg: Config = config()): Container {
  let store: PgMessageStore | undefined;
  let messageFilter: PgMessageFilter | undefined;
  let threads: PgThreadReader | undefined;
  let publisher: SqsJobPublisher | undefined;
  let directory: PgDirectory | undefined;
  let slackWeb: SlackWebLookup | undefined;
  let access: PgConversationAccess | undefined;
  let gaps: PgGapStore | undefined;
  let ingestQueue: SqsEventQueue | undefined;
  let importQueue: SqsEventQueue | undefined;
  let importProgress: PgImportProgress | undefined;
  let exportOpener: S3ExportOpener | undefined;
  let commandsQueue: SqsEventQueue | undefined;
  let repliesQueue: SqsEventQueue | undefined;
  let slackResponder: SlackResponder | undefined;
  let embedder: Embedder | undefined;
  let keywordIndex: OpenSearchKeywordIndex | undefined;
  let vectorIndex: ChromaVectorIndex | undefined;
  let collections: CollectionSelector | undefined;
  let reconcileStore: PgReconcileStore | undefined;
  let cursorKey: string | undefined;
  const warn = (message: string, err: unknown) => logger.warn(message, { error: err as Error });
  return {
    config: cfg,
    get store() {
      // The store refreshes the messages whose context a write changes (their next versions).
      store ??= new PgMessageStore(pgPool(cfg), { contextReach: neighbourReach(cfg.contextPolicy) });
      return store;
    },
    get messageFilter() {
      messageFilter ??= new PgMessageFilter(pgPool(cfg));
      return messageFilter;
    },
    get threads() {
      threads ??= new PgThreadReader(pgPool(cfg));
      return threads;
    },
    get publisher() {
      publisher ??= new SqsJobPublisher(
        sqsClient(cfg),
        {
          keyword: queueUrl(cfg, "keyword"),
          vector: queueUrl(cfg, "vector"),
        },
        cfg.JOBS_PER_MESSAGE,
      );
      return publisher;
    },
    get directory() {
      directory ??= new PgDirectory(pgPool(cfg));
      return directory;
    },
    get gapWindow() {
      gaps ??= new PgGapStore(pgPool(cfg));
      return gaps;
    },
    get gapStore() {
      gaps ??= new PgGapStore(pgPool(cfg));
      return gaps;
    },
    get access() {
      access ??= new PgConversationAccess(pgPool(cfg));
      return access;
    },
    get directoryLookup() {
      if (!cfg.SLACK_BOT_TOKEN) return undefined;
      slackWeb ??= new SlackWebLookup(cfg.SLACK_BOT_TOKEN, { apiUrl: cfg.SLACK_API_URL });
      return slackWeb;
    },
    get slackMembership() {
      if (!cfg.SLACK_BOT_TOKEN) return undefined;
      slackWeb ??= new SlackWebLookup(cfg.SLACK_BOT_TOKEN, { apiUrl: cfg.SLACK_API_URL });
      return slackWeb;
    },
    get importProgress() {
      importProgress ??= new PgImportProgress(pgPool(cfg));
      return importProgress;
    },
    get exportOpener() {
      exportOpener ??= new S3ExportOpener(s3Client(cfg), (path) => ZipExportArchive.open(path));
      return exportOpener;
    },
    get importQueue() {
      importQueue ??= new SqsEventQueue(sqsClient(cfg), queueUrl(cfg, "import"));
      return importQueue;
    },
    get ingestQueue() {
      ingestQueue ??= new SqsEventQueue(sqsClient(cfg), queueUrl(cfg, "ingest"));
      return ingestQueue;
    },
    get commandsQueue() {
      commandsQueue ??= new SqsEventQueue(sqsClient(cfg), queueUrl(cfg, "commands"));
      return commandsQueue;
    },
    get repliesQueue() {
      repliesQueue ??= new SqsEventQueue(sqsClient(cfg), queueUrl(cfg, "replies"));
      return repliesQueue;
    },
    get slackResponder() {
      slackResponder ??= new HttpSlackResponder();
      return slackResponder;
    },
    get embedder() {
      const built = embedder ?? createEmbedder(cfg);
      embedder = built;
      return built;
    },
    get indexContext() {
      return { policy: cfg.contextPolicy, source: this.store };
    },
    keywordIndex() {
      keywordIndex ??= new OpenSearchKeywordIndex(openSearchClient(cfg), cfg.OPENSEARCH_INDEX, {
        warn,
        contextVersion: legVersion(cfg.contextPolicy.keyword, cfg.contextPolicy.windowMinutes),
        contextBoost: cfg.CONTEXT_KEYWORD_BOOST,
      });
      return keywordIndex;
    },
    vectorIndex() {
      const e = this.embedder;
      vectorIndex ??= new ChromaVectorIndex(chromaClient(cfg), cfg.CHROMA_COLLECTION, {
        modelId: e.modelId,
        dimension: e.dimension,
        queryHttp: chromaQueryHttp(cfg),
      });
      return vectorIndex;
    },
    get collections() {
      collections ??= new CollectionSelector({
        config: cfg,
        registry: new PgCollectionRegistry(pgPool(cfg)),
        embedder: () => this.embedder,
        baseIndex: () => this.vectorIndex(),
        messageFilter: () => this.messageFilter,
      });
      return collections;
    },
    get reconcileStore() {
      reconcileStore ??= new PgReconcileStore(pgPool(cfg));
      return reconcileStore;
    },
    get cursorKey() {
      cursorKey ??= resolveCursorSecret({ ...cfg, inLambda: cfg.AWS_LAMBDA_FUNCTION_NAME !== undefined });
      return cursorKey;
    },
    warn,
  };
}

/** What an import job needs from a container; `remainingMs` is the invocation's time left. */
export function importJobDeps(c: Container, remainingMs: () => number) {
  return {
    store: c.store,
    outbox: c.store,
    publisher: c.publisher,
    directory: c.directory,
    access: c.access,
    progress: c.importProgress,
    opener: c.exportOpener,
    importQueue: c.importQueue,
    remainingMs,
    warn: c.warn,
  };
}

let current: Container | undefined;

export function container(): Container {
  current ??= createContainer();
  return current;
}

/** The local runtime and tests wire a container for another config (e.g. the test database). */
export function setContainer(next: Container | undefined): void {
  current = next;
}
