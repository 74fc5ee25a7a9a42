import "./quiet-env";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startChroma } from "../local/stack/chroma";
import { startOpenSearch, waitYellow } from "../local/stack/opensearch";
import { cachePath, getJson, isAlive, stopPid, waitFor } from "../local/stack/process";

/**
 * A private Chroma and a private k-NN OpenSearch node for a large bench/vectors.ts run (1M vectors),
 * so the shared services other runs use are not grown by gigabytes: the same builds the stack starts
 * (startChroma, startOpenSearch on the provisioned k-NN install, copied so the two nodes write no
 * common file), on other ports, with their data under `dir`. The k-NN install is read from the
 * CACHE_DIR `stack up --knn` provisioned (in a worktree: CACHE_DIR=/path/to/main/.cache).
 *
 *   npx tsx bench/private-vector-stores.ts start --dir /tmp/vectors-1m [--chroma-port 8100] [--knn-port 9260] [--heap 2g]
 *   CHROMA_URL=http://127.0.0.1:8100 OPENSEARCH_VECTOR_URL=http://127.0.0.1:9260 npx tsx bench/vectors.ts ...
 *   npx tsx bench/private-vector-stores.ts stop --dir /tmp/vectors-1m
 */
const KNN_HOME = "opensearch-2.19.1";

function flag(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : String(args[i + 1]);
}

async function start(dir: string, args: readonly string[]): Promise<void> {
  const chromaPort = Number(flag(args, "chroma-port", "8100"));
  const knnPort = Number(flag(args, "knn-port", "9260"));
  const heap = flag(args, "heap", "2g");
  mkdirSync(dir, { recursive: true });
  // OpenSearch runs as its own user when started as root: it must reach its data dir.
  chmodSync(dir, 0o755);
  const source = cachePath("opensearch-knn", KNN_HOME);
  if (!existsSync(source)) throw new Error(`no k-NN install at ${source}: run \`stack up --knn\` once`);
  // jvm.options writes logs/gc.log relative to the install: a copy keeps the shared node's apart.
  // Inside the node's base dir, which startOpenSearch hands to the OpenSearch user.
  const home = path.join(dir, "knn", "home");
  if (!existsSync(home)) cpSync(source, home, { recursive: true, preserveTimestamps: true });
  const chromaUrl = `http://127.0.0.1:${chromaPort}`;
  const knnUrl = `http://127.0.0.1:${knnPort}`;
  const pidsFile = path.join(dir, "pids.json");
  const pids: number[] = [];
  let javaPid: (() => Promise<number>) | undefined;
  const remember = (...more: number[]) => {
    pids.push(...more.filter((p) => p > 0));
    writeFileSync(pidsFile, JSON.stringify({ pids, chromaUrl, knnUrl, heap }));
  };
  try {
    const chromaPid = startChroma({
      port: chromaPort,
      dataDir: path.join(dir, "chroma"),
      log: path.join(dir, "chroma.log"),
    });
    remember(chromaPid);
    const knn = await startOpenSearch({
      port: knnPort,
      baseDir: path.join(dir, "knn"),
      home,
      heap,
      log: path.join(dir, "knn.log"),
    });
    remember(knn.wrapperPid);
    javaPid = knn.javaPid;
    await waitFor("private chroma", async () => getJson(`${chromaUrl}/api/v2/heartbeat`), {
      timeoutMs: 60_000,
      pid: chromaPid,
    });
    await waitYellow(240_000, knn.wrapperPid, knnUrl, path.join(dir, "knn.log"));
    // The JVM first: stopping the su wrapper alone would leave it running.
    pids.unshift(await knn.javaPid());
    remember();
  } catch (err) {
    // The JVM first: stopping the su wrapper alone would leave it running.
    await stopAll([(await javaPid?.()) ?? 0, ...pids]);
    throw err;
  }
  console.log(`CHROMA_URL=${chromaUrl} OPENSEARCH_VECTOR_URL=${knnUrl}`);
}

async function stopAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) if (pid > 0 && isAlive(pid)) await stopPid(pid);
}

async function stop(dir: string): Promise<void> {
  const file = path.join(dir, "pids.json");
  if (existsSync(file)) await stopAll((JSON.parse(readFileSync(file, "utf8")) as { pids: number[] }).pids);
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  const dir = flag(args, "dir", "");
  if (!dir.startsWith("/")) throw new Error("--dir /absolute/path is required");
  if (command === "start") await start(dir, args);
  else if (command === "stop") await stop(dir);
  else throw new Error("usage: private-vector-stores.ts start|stop --dir DIR");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
