import "./quiet-env";
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OnnxEmbedder } from "../functions/adapters/onnx/onnx-embedder";
import type { GapDefinition } from "../functions/core/gaps/definition";
import { detectGaps } from "../functions/core/gaps/detect-gaps";
import { closeClients } from "../functions/shared/clients";
import { type Config, loadConfig } from "../functions/shared/config";
import { createContainer } from "../functions/shared/container";
import { gapDefinition, gapDetectionPorts } from "../functions/shared/gaps";
import { dropDatabase } from "../test/helpers/test-db";
import { generateSearchCorpus } from "./corpus";
import {
  createBenchNamespace,
  deleteNamespaceStores,
  loadAverage,
  REPO_ROOT,
  withNamespace,
  writeReport,
} from "./helpers";
import { loadStores } from "./search";

/**
 * `npx tsx bench/gaps.ts [--messages 10000,100000]`: time and memory of one gap computation over a
 * window holding N messages. Per size: a fresh namespace loaded like bench/search.ts (the same
 * generated team chatter, real ONNX embeddings from the cache), then the computation runs in a
 * child process of its own, so its memory is the computation's (not the loader's corpus and
 * embeddings): peak RSS sampled every 50 ms, and the use case's own phase timings.
 * `--keep` leaves each size's namespace loaded (recorded under .cache/bench/) and `--reuse` runs the
 * computation again on it (a change to the detector without the ~10-min load of 100k messages);
 * `--load-only` keeps without measuring; `--drop-kept` deletes them.
 */

type Kept = Pick<Config, "DATABASE_URL" | "OPENSEARCH_INDEX" | "CHROMA_COLLECTION" | "QUEUE_PREFIX"> & {
  load: unknown;
};
const keptPath = (n: number) => join(REPO_ROOT, ".cache", "bench", `gaps-kept-${n}.json`);

const WINDOW = { since: new Date(Date.UTC(2025, 8, 1)), until: new Date(Date.UTC(2025, 11, 16)) };

interface ChildResult {
  seconds: number;
  peakRssMb: number;
  peakHeapMb: number;
  stats: Awaited<ReturnType<typeof detectGaps>>["stats"];
  /** The definition the computation ran under (the config's, GAPS_* settings included). */
  definition: GapDefinition;
}

async function child(): Promise<void> {
  const cfg = loadConfig(process.env);
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  const t = performance.now();
  const c = createContainer(cfg);
  let phase = "";
  let shown = 0;
  const definition = gapDefinition(cfg);
  const result = await detectGaps(await gapDetectionPorts(c), {
    window: WINDOW,
    definition,
    // One line per phase and per tenth of it, on stderr (a long run shows where it is).
    onProgress: (p, done, total) => {
      if (p !== phase || done >= shown + total / 10 || done === total) {
        if (p !== phase) shown = 0;
        phase = p;
        shown = done;
        console.error(`  ${p} ${done}/${total} at ${((performance.now() - t) / 1000).toFixed(0)} s`);
      }
    },
  });
  sample();
  clearInterval(timer);
  const out: ChildResult = {
    seconds: Number(((performance.now() - t) / 1000).toFixed(1)),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    peakHeapMb: Math.round(peakHeap / 2 ** 20),
    stats: result.stats,
    definition,
  };
  process.send?.(out);
  await closeClients();
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ["--child"], {
      env: { ...process.env, ...env },
      execArgv: ["--import", "tsx"],
    });
    let result: ChildResult | undefined;
    p.on("message", (m) => {
      result = m as ChildResult;
    });
    p.on("error", reject);
    p.on("exit", (code) => (result ? resolve(result) : reject(new Error(`detection child exited ${code}`))));
  });
}

function detectionEnv(
  cfg: Pick<Config, "DATABASE_URL" | "OPENSEARCH_INDEX" | "CHROMA_COLLECTION" | "QUEUE_PREFIX">,
) {
  const { DATABASE_URL, OPENSEARCH_INDEX, CHROMA_COLLECTION, QUEUE_PREFIX } = cfg;
  return {
    DATABASE_URL,
    OPENSEARCH_INDEX,
    CHROMA_COLLECTION,
    QUEUE_PREFIX,
    DATABASE_POOL_MAX: "4",
    LOG_LEVEL: "ERROR",
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--child")) return child();
  const i = args.indexOf("--messages");
  const sizes =
    i >= 0
      ? String(args[i + 1])
          .split(",")
          .map(Number)
      : [10_000, 100_000];
  const keep = args.includes("--keep") || args.includes("--load-only");
  if (args.includes("--drop-kept")) {
    for (const n of sizes) if (existsSync(keptPath(n))) await dropKept(n);
    return;
  }
  const runs = [];
  for (const n of sizes) {
    const measure = async (cfg: Kept) => {
      const load = loadAverage();
      const detection = await runChild(detectionEnv(cfg));
      console.log(
        `${n} messages: ${detection.seconds} s, peak RSS ${detection.peakRssMb} MB; ${JSON.stringify(detection.stats.timingsMs)}`,
      );
      return {
        messages: n,
        loadAverageBefore: load,
        loadAverageAfter: loadAverage(),
        load: cfg.load,
        ...detection,
      };
    };
    if (args.includes("--reuse")) {
      runs.push(await measure(JSON.parse(await readFile(keptPath(n), "utf8")) as Kept));
      continue;
    }
    const ns = await createBenchNamespace("gaps");
    const body = async () => {
      const load = await loadStores(ns, generateSearchCorpus(n));
      const cfg: Kept = { ...detectionEnv(ns.config), load };
      if (keep) {
        await writeFile(keptPath(n), JSON.stringify(cfg, null, 2));
        console.log(`kept the namespace for --reuse: ${keptPath(n)} (--drop-kept deletes it)`);
      }
      return args.includes("--load-only") ? undefined : measure(cfg);
    };
    const run = keep ? await body() : await withNamespace(ns, body);
    if (keep) await ns.db.pool.end();
    if (run) runs.push(run);
  }
  await OnnxEmbedder.closeAll();
  if (runs.length === 0) return closeClients();
  const path = await writeReport("gaps", {
    date: new Date().toISOString(),
    host: hostname(),
    window: WINDOW,
    targets: { seconds: 600, peakRssMb: 1024 },
    runs,
  });
  console.log(`wrote ${path}`);
  await closeClients();
}

async function dropKept(n: number): Promise<void> {
  const kept = JSON.parse(await readFile(keptPath(n), "utf8")) as Kept;
  const cfg = loadConfig({ ...process.env, ...detectionEnv(kept) });
  await deleteNamespaceStores(cfg);
  await dropDatabase(new URL(cfg.DATABASE_URL).pathname.slice(1));
  await rm(keptPath(n));
  console.log(`dropped the kept ${n}-message namespace (${cfg.OPENSEARCH_INDEX})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
