import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeClients, sqsClient } from "../functions/shared/clients";
import { type Config, loadConfig } from "../functions/shared/config";
import { deleteNamespaceResources } from "../local/namespace";
import { ensureQueues, type QueueUrls } from "../local/stack/queues";
import { createTestDatabase, type TestDatabase } from "../test/helpers/test-db";
import { generateTeamMessages } from "./embedder";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(BENCH_DIR, "..");

/**
 * A private Trisearch on the shared local services: its own database, queues, OpenSearch index and
 * Chroma collection, so a benchmark never touches another engineer's data and leaves nothing behind.
 */
export interface BenchNamespace {
  readonly config: Config;
  readonly db: TestDatabase;
  readonly queues: QueueUrls | undefined;
  /** Extra OpenSearch indices (scratch) to delete on cleanup. */
  readonly scratchIndices: string[];
  cleanup(): Promise<void>;
}

export async function createBenchNamespace(
  label: string,
  opts: { queues?: boolean; visibilityTimeout?: number } = {},
): Promise<BenchNamespace> {
  const suffix = `${label}-${randomBytes(3).toString("hex")}`;
  const db = await createTestDatabase(`bench_${label.replace(/\W/g, "_")}`);
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    // Workers and search share one process here, like `npm start`; give the pool room for both.
    DATABASE_POOL_MAX: "8",
    QUEUE_PREFIX: `bench-${suffix}`,
    OPENSEARCH_INDEX: `bench-messages-${suffix}`,
    CHROMA_COLLECTION: `bench-messages-${suffix}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "ERROR",
  });
  let queues: QueueUrls | undefined;
  const scratchIndices: string[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await deleteNamespaceStores(config, { queues, scratchIndices });
    await db.drop();
  };
  try {
    if (opts.queues) {
      queues = await ensureQueues(sqsClient(config), config.QUEUE_PREFIX, {
        visibilityTimeout: opts.visibilityTimeout ?? 60,
      });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { config, db, queues, scratchIndices, cleanup };
}

/** The namespace's index, collections and queues (local/namespace.ts), then the clients. */
export async function deleteNamespaceStores(
  config: Config,
  extra: { queues?: QueueUrls | undefined; scratchIndices?: readonly string[] } = {},
): Promise<void> {
  for (const err of await deleteNamespaceResources(config, extra)) console.error("cleanup:", err);
  await closeClients();
}

/**
 * Runs `body` with a namespace and always cleans up: on success, on a throw, and on Ctrl-C / SIGTERM
 * (a 100k-document index must not outlive an interrupted run).
 */
export async function withNamespace<T>(
  ns: BenchNamespace,
  body: (ns: BenchNamespace) => Promise<T>,
): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: cleaning up the benchmark namespace...`);
    ns.cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await body(ns);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await ns.cleanup();
  }
}

/** Deterministic PRNG (LCG), so every run generates the same corpus. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const CHANNELS = [
  "#platform",
  "#auth-team",
  "#mobile",
  "#billing",
  "#incidents",
  "#general",
  "#data",
  "#frontend",
] as const;
const AUTHORS = [
  "alice@company.com",
  "bob@company.com",
  "priya@company.com",
  "chen@company.com",
  "marta@company.com",
  "omar@company.com",
  "kenji@company.com",
  "sofia@company.com",
  "charlie@company.com",
  "dana@company.com",
  "eve@company.com",
  "frank@company.com",
] as const;

/** A message in the ingest API's wire shape (POST /messages). */
export interface WireMessage {
  external_id: string;
  channel: string;
  author: string;
  content: string;
  timestamp: string;
  thread_id?: string;
  metadata?: Record<string, unknown>;
}

/** The corpus spans the 90 days before this instant (fixed, so the corpus hash is stable). */
const CORPUS_END = Date.UTC(2025, 11, 15, 18, 0, 0);
const CORPUS_DAYS = 90;

/**
 * Team messages with channels, authors, timestamps and threads: the texts from
 * generateTeamMessages (bench/embedder.ts), the metadata drawn from the same seeded generator.
 */
export function generateWireMessages(count: number, opts: { seed?: number; prefix?: string } = {}) {
  const seed = opts.seed ?? 42;
  const texts = generateTeamMessages(count, seed);
  return decorate(texts, seed, opts.prefix ?? "m");
}

/** Adds channel, author, timestamp and an occasional thread to each text. */
export function decorate(texts: readonly string[], seed: number, prefix: string): WireMessage[] {
  const rand = seededRandom(seed ^ 0x5bd1e995);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const span = CORPUS_DAYS * 86_400_000;
  return texts.map((content, i) => {
    const ts = CORPUS_END - Math.floor(rand() * span);
    const threaded = rand() < 0.2;
    return {
      external_id: `${prefix}-${i}`,
      channel: pick(CHANNELS),
      author: pick(AUTHORS),
      content,
      timestamp: new Date(ts).toISOString(),
      ...(threaded ? { thread_id: `t-${Math.floor(rand() * Math.max(1, texts.length / 10))}` } : {}),
      ...(i % 7 === 0 ? { metadata: { reactions: Math.floor(rand() * 5) } } : {}),
    };
  });
}

/** Load average over 1, 5 and 15 minutes (the machine is shared: read every number with it). */
export function loadAverage(): { "1m": number; "5m": number; "15m": number } {
  const [a, b, c] = loadavg();
  return { "1m": round2(a ?? 0), "5m": round2(b ?? 0), "15m": round2(c ?? 0) };
}

export const round2 = (n: number) => Math.round(n * 100) / 100;

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export async function writeReport(name: string, report: unknown): Promise<string> {
  const path = join(BENCH_DIR, "reports", `${name}.json`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/** Parses `--name value` flags with numeric values (the benchmarks take only counts). */
export function numberFlag(args: readonly string[], name: string, fallback: number, min = 1): number {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} needs an integer >= ${min}`);
  return v;
}
