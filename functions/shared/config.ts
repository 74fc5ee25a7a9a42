// zod/mini (functional checks, tree-shakeable): config is in every bundle, and the classic API
// alone is ~100 kB minified; with mini the Slack webhook stays far under its 150 kB (README "Bundle sizes").
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { type ContextPolicy, ContextPolicyError, parseLegPolicy } from "../core/message-context";
import type { QueueName } from "../topology";

/** Local ONNX embedding models `stack up` can provide (local/stack/model.ts has their artifacts). */
const ONNX_MODELS = ["all-minilm-l6-v2-q", "bge-small-en-v15-q"] as const;
export type OnnxModelName = (typeof ONNX_MODELS)[number];

// zod/mini loads no messages of its own: the same English ones classic zod prints.
z.config(en());

const nonEmpty = () => z.string().check(z.minLength(1));
/** A number from its env string, within [min, max]. */
const num = (min: number, max?: number) =>
  z.coerce.number().check(z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));
/** An integer from its env string, within [min, max]. */
const int = (min: number, max?: number) =>
  z.coerce.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));
const withDefault = z._default;

/**
 * The one place that reads the environment. Every variable has a documented default that
 * matches the local stack (README "Configuration"), so `npm start` needs no .env file.
 */
const configSchema = z.object({
  DATABASE_URL: withDefault(z.url(), "postgres://postgres@127.0.0.1:5432/trisearch"),
  DATABASE_POOL_MAX: withDefault(int(1, 50), 2),
  OPENSEARCH_URL: withDefault(z.url(), "http://127.0.0.1:9200"),
  OPENSEARCH_INDEX: withDefault(nonEmpty(), "messages"),
  /** "sigv4" signs requests with the function's IAM role (Amazon OpenSearch Service, set by the CDK stack). */
  OPENSEARCH_AUTH: withDefault(z.enum(["none", "sigv4"]), "none"),
  /** "aws" = the SDK's regional endpoint (the default inside Lambda). */
  SQS_ENDPOINT: z.pipe(
    withDefault(z.union([z.literal("aws"), z.url()]), "http://127.0.0.1:9324"),
    z.transform((v) => (v === "aws" ? undefined : v)),
  ),
  AWS_REGION: withDefault(nonEmpty(), "us-east-1"),
  QUEUE_PREFIX: withDefault(z.string(), "trisearch"),
  KEYWORD_QUEUE_URL: z.optional(z.url()),
  VECTOR_QUEUE_URL: z.optional(z.url()),
  INGEST_QUEUE_URL: z.optional(z.url()),
  IMPORT_QUEUE_URL: z.optional(z.url()),
  /** S3 endpoint override (tests use a local GetObject stand-in); unset: the regional endpoint. */
  S3_ENDPOINT: z.optional(z.url()),
  /** The slash command's queues: search jobs (ack -> search) and finished replies (search -> Slack). */
  COMMANDS_QUEUE_URL: z.optional(z.url()),
  REPLIES_QUEUE_URL: z.optional(z.url()),
  CHROMA_URL: withDefault(z.url(), "http://127.0.0.1:8000"),
  CHROMA_COLLECTION: withDefault(nonEmpty(), "messages"),
  /**
   * Where vectors live: "chroma" (the default: one process, one machine's memory) or "opensearch"
   * (the k-NN plugin's Lucene HNSW: sharded and replicated, README "Vector store").
   */
  VECTOR_STORE: withDefault(z.enum(["chroma", "opensearch"]), "chroma"),
  /**
   * The OpenSearch that holds the k-NN index. Locally a second node with the k-NN plugin
   * (`stack up --knn`, OpenSearch 2.19.1 on 9201); in AWS the search domain (set by the CDK stack).
   */
  OPENSEARCH_VECTOR_URL: withDefault(z.url(), "http://127.0.0.1:9201"),
  /** The k-NN index's base name (a model switch writes `<base>__<model>` beside it). */
  OPENSEARCH_VECTOR_INDEX: withDefault(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a lowercase OpenSearch index name")),
    "message-vectors",
  ),
  /** Shards and replicas of a new k-NN index (README "Vector store" sizes them). */
  OPENSEARCH_VECTOR_SHARDS: withDefault(int(1, 64), 1),
  OPENSEARCH_VECTOR_REPLICAS: withDefault(int(0, 5), 0),
  EMBEDDER: withDefault(z.enum(["onnx", "bedrock"]), "onnx"),
  /**
   * The local model; its files live in ONNX_MODEL_DIR (default .cache/models/<ONNX_MODEL>).
   * bge-small since 2026-12-05: higher nDCG@10 on both dev collections (bench/quality.md).
   */
  ONNX_MODEL: withDefault(z.enum(ONNX_MODELS), "bge-small-en-v15-q"),
  ONNX_MODEL_DIR: z.optional(nonEmpty()),
  /**
   * The query instruction the model's settings name (bge: "Represent this sentence for searching
   * relevant passages: "): `model` puts it before every query, `none` embeds the query alone
   * (documents never get it). Measured in bench/quality.md.
   */
  ONNX_QUERY_INSTRUCTION: withDefault(z.enum(["model", "none"]), "model"),
  BEDROCK_MODEL_ID: withDefault(nonEmpty(), "amazon.titan-embed-text-v2:0"),
  BEDROCK_DIMENSIONS: withDefault(
    z.coerce
      .number()
      .check(z.refine((n) => n === 256 || n === 512 || n === 1024, "must be 256, 512 or 1024")),
    1024,
  ),
  BEDROCK_ENDPOINT: z.optional(z.url()),
  /**
   * Attempts per InvokeModel call, the first included: the SDK's adaptive retry mode (backoff from
   * 1 s on throttling, a client-side rate limit) is the only retry layer. 3 keeps a throttled search
   * query inside the search function's timeout; the embedder's records come back through SQS.
   */
  BEDROCK_MAX_ATTEMPTS: withDefault(int(1, 10), 3),
  SLACK_SIGNING_SECRET: z.optional(nonEmpty()),
  /** Source name for Slack messages; each team's id when unset. */
  SLACK_SOURCE_NAME: z.optional(nonEmpty()),
  /** Store bot_message events (marked metadata.bot = true); "false" ignores them. */
  SLACK_STORE_BOTS: withDefault(z.stringbool(), true),
  /**
   * A bot token (xoxb-...) with users:read and channels:read/groups:read: ids the directory does not
   * know are looked up with Slack's Web API. Unset: ids stay ids (Secrets Manager in AWS).
   */
  SLACK_BOT_TOKEN: z.optional(nonEmpty()),
  /** Slack's Web API base URL (tests point it at a local stand-in). */
  SLACK_API_URL: z.optional(z.url()),
  /** The workspace's domain for permalinks (acme.slack.com); else what an import found. */
  SLACK_WORKSPACE_DOMAIN: z.optional(
    z.string().check(z.regex(/^[a-z0-9.-]+$/i, "must be a host name like acme.slack.com")),
  ),
  /**
   * Signs search cursors (HMAC-SHA256), so a client cannot forge one. In AWS it comes from
   * Secrets Manager (CURSOR_SECRET_ARN); locally, unset means a key generated once under CACHE_DIR.
   */
  CURSOR_SECRET: z.optional(z.string().check(z.minLength(32, "must be at least 32 characters"))),
  /**
   * A slash command's response_url must start with this (Slack's hooks): the reply step posts to it,
   * so a forged form must not aim it elsewhere. Tests point it at their stand-in server.
   */
  SLACK_RESPONSE_URL_PREFIX: withDefault(z.url(), "https://hooks.slack.com/"),
  /** The search page the slash command's "More results" button opens; the local runtime serves it at GET /. */
  SEARCH_PAGE_URL: z.optional(z.url()),
  /**
   * Permissions (README "Permissions"): a search without a viewer (no JWT claim, no `viewer`
   * parameter) reads every conversation when true, and is a 401 otherwise. An admin tool: `npm start`
   * turns it on locally, the CDK stack only with the allowUnscopedSearch context flag.
   */
  SEARCH_ALLOW_UNSCOPED: withDefault(z.stringbool(), false),
  /** The JWT claim that names the viewer where the API uses a JWT authorizer. */
  SEARCH_VIEWER_CLAIM: withDefault(nonEmpty(), "sub"),
  SEARCH_RRF_K: withDefault(num(0), 60),
  /**
   * Fusion weights: convex fusion takes each leg's share w / (w_bm25 + w_semantic) of its normalised
   * score; RRF multiplies each leg's 1/(k + rank) by w (bench/quality.md has the measurements
   * behind the defaults). A request may override them (bm25_weight, semantic_weight, fusion).
   */
  SEARCH_BM25_WEIGHT: withDefault(num(0, 10), 0.5),
  SEARCH_SEMANTIC_WEIGHT: withDefault(num(0, 10), 0.5),
  /** Hybrid fusion: "convex" (normalised scores, weighted) or "rrf" (weighted ranks, k = SEARCH_RRF_K). */
  SEARCH_FUSION: withDefault(z.enum(["convex", "rrf"]), "convex"),
  /**
   * Message context per index (functions/core/message-context.ts): comma lists of author, channel,
   * parent, preceding:N; "none" for the bare message. Changing CONTEXT_VECTOR re-embeds through the
   * model-switch path; changing CONTEXT_KEYWORD rebuilds the keyword index.
   */
  CONTEXT_KEYWORD: withDefault(z.string(), "author"),
  CONTEXT_VECTOR: withDefault(z.string(), "author"),
  /** How far back `preceding:N` reaches in a conversation. */
  CONTEXT_WINDOW_MINUTES: withDefault(int(1, 7 * 24 * 60), 60),
  /** Weight of the keyword index's context field against the message's own words (query time). */
  CONTEXT_KEYWORD_BOOST: withDefault(num(0, 10), 1),
  /** Each leg's depth; unset = max(3 x limit, 50). */
  SEARCH_LEG_WINDOW: z.optional(int(1, 1000)),
  /**
   * Vectors the search process keeps for exact scans of selective filters (core/search/vector-cache.ts),
   * in MiB; 0 turns the cache off (up to 200 matches are then fetched and scanned per search, more go
   * to Chroma's search among ids). 64 MiB holds ~40,000
   * vectors of 384 dimensions. Only where the store does not filter inside its own k-NN search (Chroma).
   */
  SEARCH_VECTOR_CACHE_MB: withDefault(num(0, 4096), 64),
  /**
   * What the search process keeps of messages it read in the last SEARCH_FACTS_TTL_SECONDS
   * (core/search/recent-reads.ts), at most this many messages each: their channel, author and time
   * for the semantic leg's candidate check (message-facts.ts, ~100 bytes each), and their thread and
   * time for grouping (thread-facts.ts, ~200 bytes each); 0 asks PostgreSQL every time.
   */
  SEARCH_FACTS_CACHE_ENTRIES: withDefault(int(0, 10_000_000), 100_000),
  /** Snippet windows whose embeddings the search process keeps (core/search/snippet-embeddings.ts); 0: none. */
  SEARCH_SNIPPET_CACHE_ENTRIES: withDefault(int(0, 1_000_000), 2_000),
  /** How long a message's facts are used before they are read again (a re-sent message can move channel or thread); 0: always read. */
  SEARCH_FACTS_TTL_SECONDS: withDefault(int(0, 3600), 30),
  API_PORT: withDefault(int(1, 65535), 3000),
  /** The API's bind address; a container sets 0.0.0.0 so its published port reaches it. */
  API_HOST: withDefault(nonEmpty(), "127.0.0.1"),
  CACHE_DIR: withDefault(nonEmpty(), ".cache"),
  LOG_LEVEL: withDefault(z.enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]), "INFO"),
  /**
   * Local runtime only: divides the schedule intervals and SQS batching windows of
   * functions/topology.ts (1 = as deployed; 12 = the relay every 5 s, the reconciler every 75 s).
   */
  LOCAL_SPEEDUP: withDefault(num(1, 1000), 1),
  /** The reconciler's per-run page budget. */
  RECONCILE_PAGE_SIZE: withDefault(int(1, 10_000), 1000),
  RECONCILE_MAX_PAGES: withDefault(int(1), 50),
  // Coordination gaps (functions/core/gaps/definition.ts explains each number).
  GAPS_WINDOW_DAYS: withDefault(num(0.01, 365), 7),
  GAPS_MIN_CONVERSATIONS: withDefault(int(2, 20), 2),
  GAPS_MIN_MESSAGES_PER_SIDE: withDefault(int(1, 100), 2),
  GAPS_MAX_PARTICIPANT_OVERLAP: withDefault(num(0, 1), 0.25),
  GAPS_MIN_SIMILARITY: withDefault(num(-1, 1), 0.5),
  GAPS_BACKGROUND_FENCE: withDefault(num(0, 10), 1.5),
  GAPS_TOPICS: withDefault(z.enum(["shared-neighbours", "threshold"]), "shared-neighbours"),
  GAPS_NEIGHBOURS: withDefault(int(2, 100), 10),
  GAPS_NEIGHBOURHOODS: withDefault(z.enum(["hybrid", "vector"]), "hybrid"),
  // Above 0: average linkage never joins groups with no link between them.
  GAPS_MIN_SHARED_NEIGHBOURS: withDefault(num(0.001, 1), 0.06),
  GAPS_SAME_CONVERSATION_LINK_WEIGHT: withDefault(num(0, 1), 0.7),
  GAPS_MIN_COHESION: withDefault(num(0, 1), 0),
  GAPS_MIN_CROSS_COHESION: withDefault(num(0, 1), 0.1),
  GAPS_NEIGHBOURHOOD_ENSEMBLE: withDefault(int(0, 50), 4),
  GAPS_MIN_MEMBER_SHARE: withDefault(num(0, 1), 0.33),
  GAPS_SIDES_LINKED_ACROSS: withDefault(z.stringbool(), true),
  /**
   * A Slack channel id: after each scheduled computation the gaps new since the previous one, those
   * between conversations open to the channel's whole audience, are posted there (slack-reply, with
   * SLACK_BOT_TOKEN).
   */
  GAPS_DIGEST_CHANNEL: z.optional(
    z.string().check(z.regex(/^[CGD][A-Z0-9]{6,}$/, "must be a Slack conversation id (C…, G… or D…)")),
  ),
  /** Gaps one digest lists at most (best first). */
  GAPS_DIGEST_LIMIT: withDefault(int(1, 10), 5),
  /**
   * Claim-check jobs per SQS message (the relay packs jobs for one target). Capped so ten messages
   * of a SendMessageBatch stay far below SQS's 256 KB (a job is ~50 bytes).
   */
  JOBS_PER_MESSAGE: withDefault(int(1, 250), 25),
  /**
   * The migrate function's login users (README "Database roles"): created or updated in the reader
   * and writer roles after the migrations. In AWS they come from their secrets (DB_READER_SECRET_ARN,
   * DB_WRITER_SECRET_ARN); unset locally, where everything connects as DATABASE_URL's user.
   */
  DATABASE_READER_USER: z.optional(nonEmpty()),
  DATABASE_READER_PASSWORD: z.optional(nonEmpty()),
  DATABASE_WRITER_USER: z.optional(nonEmpty()),
  DATABASE_WRITER_PASSWORD: z.optional(nonEmpty()),
  /** Set by the Lambda runtime: the local-only fallbacks (a generated cursor key) do not apply. */
  AWS_LAMBDA_FUNCTION_NAME: z.optional(nonEmpty()),
  /** Overrides the ONNX model id recorded on vectors (a new id = a new vector collection). */
  ONNX_MODEL_ID: z.optional(nonEmpty()),
});

const withDerivedDefaults = z.pipe(
  configSchema,
  z.transform((c, payload) => {
    let contextPolicy: ContextPolicy | undefined;
    try {
      contextPolicy = {
        keyword: parseLegPolicy(c.CONTEXT_KEYWORD),
        vector: parseLegPolicy(c.CONTEXT_VECTOR),
        windowMinutes: c.CONTEXT_WINDOW_MINUTES,
      };
    } catch (err) {
      if (!(err instanceof ContextPolicyError)) throw err;
      payload.issues.push({ code: "custom", path: ["CONTEXT_*"], message: err.message, input: c });
      return z.NEVER;
    }
    return {
      ...c,
      ONNX_MODEL_DIR: c.ONNX_MODEL_DIR ?? `.cache/models/${c.ONNX_MODEL}`,
      contextPolicy,
    };
  }),
);

export type Config = z.infer<typeof withDerivedDefaults>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses an environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" (a CDK/compose env var can only be blanked, not removed).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  // Inside AWS Lambda the local-stack defaults must not apply: SQS is the regional endpoint.
  if (env.AWS_LAMBDA_FUNCTION_NAME && !present.SQS_ENDPOINT) present.SQS_ENDPOINT = "aws";
  const parsed = withDerivedDefaults.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** The queue URL for `name` (keyword, vector, ingest): explicit in AWS, derived from the prefix locally. */
export function queueUrl(cfg: Config, name: QueueName): string {
  const explicit = {
    keyword: cfg.KEYWORD_QUEUE_URL,
    vector: cfg.VECTOR_QUEUE_URL,
    ingest: cfg.INGEST_QUEUE_URL,
    import: cfg.IMPORT_QUEUE_URL,
    commands: cfg.COMMANDS_QUEUE_URL,
    replies: cfg.REPLIES_QUEUE_URL,
  }[name];
  if (explicit) return explicit;
  if (!cfg.SQS_ENDPOINT)
    throw new ConfigError(`${name.toUpperCase()}_QUEUE_URL is required when SQS_ENDPOINT is unset`);
  // ElasticMQ's URL layout: <endpoint>/<account>/<queue name>.
  return `${cfg.SQS_ENDPOINT}/000000000000/${cfg.QUEUE_PREFIX}-${name}`;
}

let current: Config | undefined;

/** The process-wide config, parsed once (cold start fails loudly on a bad value). */
export function config(): Config {
  current ??= loadConfig();
  return current;
}

/** Tests and the CLI point the process at another environment (e.g. a test database). */
export function setConfig(next: Config): void {
  current = next;
}
