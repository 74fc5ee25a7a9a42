import { randomBytes } from "node:crypto";
import { DeleteQueueCommand } from "@aws-sdk/client-sqs";
import pg from "pg";
import { deleteIndexAndTemplate } from "../functions/adapters/opensearch/opensearch-keyword-index";
import { deleteVectorIndices } from "../functions/adapters/opensearch/opensearch-vector-index";
import { migrateUp } from "../functions/adapters/postgres/migrate";
import {
  chromaClient,
  closeClients,
  openSearchClient,
  openSearchVectorClient,
  sqsClient,
} from "../functions/shared/clients";
import { type Config, loadConfig } from "../functions/shared/config";
import { type LocalApp, type LocalAppOptions, startLocalApp } from "./app";
import { ensureQueues, type QueueUrls } from "./stack/queues";

/**
 * A whole Trisearch on the running services, isolated by name: its own database (so its outbox,
 * counts and verify see only its rows), queues, OpenSearch index and Chroma collection, and the
 * API on a free port. Tests and `trisearch eval` use it; close() removes every resource.
 */

export interface NamespaceDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

export interface NamespaceOptions extends Partial<Omit<LocalAppOptions, "config">> {
  /** Short, lowercase resource prefix: "t" (tests), "eval". */
  readonly prefix: string;
  /** Readable part of every resource name; a random suffix follows it. */
  readonly label: string;
  /** Variables over the base environment (e.g. SEARCH_RRF_K). */
  readonly env?: Record<string, string>;
  /** The environment the namespace starts from (default process.env): service URLs, embedder. */
  readonly baseEnv?: Record<string, string | undefined>;
  readonly maxReceiveCount?: number;
  readonly visibilityTimeout?: number;
  /** Default: a fresh, migrated database on DATABASE_URL's server. */
  readonly createDatabase?: (name: string) => Promise<NamespaceDatabase>;
}

export interface Namespace {
  /** `<prefix>-<label>-<hex>`: the index, collection and queue prefix. */
  readonly name: string;
  readonly app: LocalApp;
  readonly config: Config;
  readonly db: NamespaceDatabase;
  readonly queues: QueueUrls;
  /** Calls the namespace's local API Gateway. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Restarts the API and workers on the same data with more variables (e.g. SEARCH_RRF_K). */
  reconfigure(env: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** Lowercase letters, digits and dashes: valid for OpenSearch, Chroma, SQS and (as _) Postgres. */
export function namespaceSlug(label: string): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "ns"
  );
}

/** A new database beside DATABASE_URL's (admin work in `postgres`), migrated to the latest schema. */
export async function createFreshDatabase(name: string, serverUrl: string): Promise<NamespaceDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name "${name}"`);
  const at = (db: string) => {
    const url = new URL(serverUrl);
    url.pathname = `/${db}`;
    return url.toString();
  };
  const admin = new pg.Client({ connectionString: at("postgres") });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = at(name);
  await migrateUp(url);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // pool.end() resolves before its sockets have closed, so the forced DROP below can terminate a
  // backend that is still closing: its FATAL 57P01 reaches the pool as an idle-client error, which
  // without a listener is thrown as an unhandled error (seen once in a CI run, 12-04).
  pool.on("error", () => undefined);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabaseOf(url);
    },
  };
}

/** Drops the database `url` names (admin work in `postgres`), closing its remaining connections. */
export async function dropDatabaseOf(url: string): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = "/postgres";
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/**
 * Chroma collections of the namespace: the base one and every one named after it (per-model
 * `<base>__<model>`, benchmark scratch `<base>-...`). Namespace names end in random hex, so no other
 * namespace's base name starts with this one.
 */
async function deleteCollections(config: Config): Promise<void> {
  const chroma = chromaClient(config);
  const names = (await chroma.listCollections({ limit: 10_000 })).map((col) => col.name);
  const ours = names.filter((n) => n.startsWith(config.CHROMA_COLLECTION));
  await Promise.all(ours.map((name) => chroma.deleteCollection({ name })));
}

/**
 * Removes the namespace's OpenSearch indices, collections and queues, each independently (missing
 * is fine); failures are returned for the caller to report. The database is the caller's.
 */
export async function deleteNamespaceResources(
  config: Config,
  extra: { queues?: QueueUrls | undefined; scratchIndices?: readonly string[] } = {},
): Promise<unknown[]> {
  const results = await Promise.allSettled([
    // One call per name, scratch indices included, missing ones ignored; each with its template.
    ...[config.OPENSEARCH_INDEX, ...(extra.scratchIndices ?? [])].map((index) =>
      deleteIndexAndTemplate(openSearchClient(config), index),
    ),
    deleteCollections(config),
    // The k-NN node runs only when asked (stack up --knn): its indices are ours only when used.
    ...(config.VECTOR_STORE === "opensearch"
      ? [deleteVectorIndices(openSearchVectorClient(config), config.OPENSEARCH_VECTOR_INDEX)]
      : []),
    ...Object.values(extra.queues ?? {})
      .flatMap((q) => [q.url, q.dlqUrl])
      .map((QueueUrl) => sqsClient(config).send(new DeleteQueueCommand({ QueueUrl }))),
  ]);
  return results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
}

export async function startNamespace(opts: NamespaceOptions): Promise<Namespace> {
  const { prefix, label, env, baseEnv, maxReceiveCount, visibilityTimeout, createDatabase, ...appOpts } =
    opts;
  const name = `${prefix}-${namespaceSlug(label)}-${randomBytes(3).toString("hex")}`;
  const base = baseEnv ?? process.env;
  const baseConfig = loadConfig(base);
  const db = await (createDatabase ?? ((n) => createFreshDatabase(n, baseConfig.DATABASE_URL)))(
    `trisearch_${name.replace(/-/g, "_")}`,
  );
  const configFor = (extra: Record<string, string> = {}) =>
    loadConfig({
      ...base,
      DATABASE_URL: db.url,
      QUEUE_PREFIX: name,
      OPENSEARCH_INDEX: name,
      CHROMA_COLLECTION: name,
      OPENSEARCH_VECTOR_INDEX: `${name}-vectors`,
      // Quiet unless the caller's environment says otherwise (the test runner's is SILENT).
      LOG_LEVEL: base.LOG_LEVEL ?? "ERROR",
      // The relay every 500 ms and batching windows of 8-17 ms: tests wait for the pipeline.
      LOCAL_SPEEDUP: "120",
      // Tests and eval search without a viewer unless they name one (the permission tests turn it off).
      SEARCH_ALLOW_UNSCOPED: "true",
      ...env,
      ...extra,
    });
  const start = (cfg: Config) =>
    // The scheduled reconciler would take documents still in the queues for drift and enqueue them
    // again; the gaps computation would run every 30 s at this speed-up. Tests and eval run both
    // through schedules.<name>.runOnce().
    startLocalApp({
      config: cfg,
      port: 0,
      quiet: true,
      manualSchedules: ["reconcile", "gaps", "membershipSync"],
      ...appOpts,
    });
  let config: Config | undefined;
  let queues: QueueUrls | undefined;
  try {
    config = configFor();
    queues = await ensureQueues(sqsClient(config), config.QUEUE_PREFIX, {
      maxReceiveCount,
      visibilityTimeout,
    });
    let app = await start(config);
    let cfg = config;
    const qs = queues;
    return {
      name,
      get app() {
        return app;
      },
      get config() {
        return cfg;
      },
      db,
      queues: qs,
      async reconfigure(extra) {
        await app.stop();
        cfg = configFor(extra);
        app = await start(cfg);
      },
      async api(method, path, body) {
        const res = await fetch(`${app.url}${path}`, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        return { status: res.status, body: parsed };
      },
      async close() {
        await app.stop();
        await deleteNamespaceResources(cfg, { queues: qs });
        await closeClients();
        await db.drop();
      },
    };
  } catch (err) {
    // Half-built: remove what exists so a failed start leaves nothing behind.
    if (config) await deleteNamespaceResources(config, { queues }).catch(() => undefined);
    await closeClients();
    await db.drop().catch(() => undefined);
    throw err;
  }
}
