import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OnnxEmbedder } from "../functions/adapters/onnx/onnx-embedder";
import type { Embedder } from "../functions/core/ports";
import { config } from "../functions/shared/config";

/**
 * Raw embedder throughput: `npx tsx bench/embedder.ts [count] [batchSize]`.
 * Writes bench/reports/embedder.json; the ingest benchmark reuses measureRawEmbedderRate.
 */

export interface EmbedderRate {
  readonly modelId: string;
  readonly texts: number;
  readonly batchSize: number;
  readonly seconds: number;
  readonly textsPerSecond: number;
  /** Process peak resident set size (getrusage maxrss), so it includes the model itself. */
  readonly peakRssMb: number;
}

/** Embeds `texts` in calls of `batchSize` after one warm-up call (model load is not throughput). */
export async function measureRawEmbedderRate(
  embedder: Embedder,
  texts: readonly string[],
  batchSize = 32,
): Promise<EmbedderRate> {
  await embedder.embed(texts.slice(0, Math.min(batchSize, texts.length)));
  const start = performance.now();
  for (let i = 0; i < texts.length; i += batchSize) {
    const vectors = await embedder.embed(texts.slice(i, i + batchSize));
    if (vectors[0]?.length !== embedder.dimension) throw new Error("embedder returned a wrong dimension");
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    modelId: embedder.modelId,
    texts: texts.length,
    batchSize,
    seconds: Number(seconds.toFixed(3)),
    textsPerSecond: Math.round(texts.length / seconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** Short, varied team messages; seeded so every run embeds the same texts. */
export function generateTeamMessages(count: number, seed = 42): string[] {
  let state = seed >>> 0;
  const rand = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const people = ["Alice", "Bob", "Priya", "Chen", "Marta", "Omar", "Kenji", "Sofia"];
  const services = ["auth service", "billing API", "search index", "mobile app", "checkout", "data pipeline"];
  const things = [
    "OAuth2 flow",
    "login page",
    "Postgres migration",
    "CI pipeline",
    "rate limiter",
    "dashboard",
  ];
  const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
  const templates: (() => string)[] = [
    () => `Heads up: deploying the ${pick(services)} to staging in 10 minutes`,
    () => `${pick(people)}, can you review my PR for the ${pick(things)}? It's small.`,
    () =>
      `Users can't sign in on ${pick(["mobile", "Safari", "Android", "the web app"])} since the last release`,
    () => `The ${pick(things)} is failing again with a timeout, looking into it`,
    () => `Standup moved to ${pick(days)} ${9 + Math.floor(rand() * 8)}:00, same room`,
    () => `Quarterly budget review for the ${pick(services)} team is on ${pick(days)}`,
    () => `Rolled back the ${pick(services)}: error rate went from 0.1% to ${(1 + rand() * 9).toFixed(1)}%`,
    () => `Thanks ${pick(people)}! The fix for the ${pick(things)} works now 🎉`,
    () => `Who owns the ${pick(things)}? I need someone to approve a config change before ${pick(days)}`,
    () =>
      `Incident update: ${pick(services)} latency p99 is ${100 + Math.floor(rand() * 900)}ms, ` +
      `we suspect the ${pick(things)}; ${pick(people)} is on it and will post in #incidents`,
    () => `lgtm, merging`,
    () => `Reminder: the ${pick(things)} docs need an update after the ${pick(services)} refactor`,
  ];
  return Array.from({ length: count }, () => pick(templates)());
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1000);
  const batchSize = Number(process.argv[3] ?? 32);
  const embedder = new OnnxEmbedder({ modelDir: config().ONNX_MODEL_DIR });
  const result = await measureRawEmbedderRate(embedder, generateTeamMessages(count), batchSize);
  await OnnxEmbedder.closeAll();
  console.log(
    `${result.modelId}: ${result.texts} texts in ${result.seconds}s = ${result.textsPerSecond} texts/s ` +
      `(batch ${result.batchSize}), peak RSS ${result.peakRssMb} MB`,
  );
  const report = join(dirname(fileURLToPath(import.meta.url)), "reports", "embedder.json");
  await mkdir(dirname(report), { recursive: true });
  await writeFile(
    report,
    JSON.stringify({ ...result, node: process.version, at: new Date().toISOString() }, null, 2) + "\n",
  );
  console.log(`wrote ${report}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
