import { mkdirSync } from "node:fs";
import { config } from "../../functions/shared/config";
import {
  cachePath,
  getJson,
  logFile,
  orStop,
  repoRoot,
  run,
  StackError,
  type StackService,
  spawnDetached,
  urlPort,
  waitFor,
} from "./process";

/** The npm package that carries the Chroma 1.0 server (a Rust binary behind a Node binding). */
const BINDING = "chromadb-js-bindings-linux-x64-gnu";

const apiUrl = (p: string) => new URL(`/api/v2/${p}`, config().CHROMA_URL).toString();

async function probe(): Promise<string | undefined> {
  const beat = await getJson<Record<string, unknown>>(apiUrl("heartbeat"));
  if (!beat) return undefined;
  const version = await getJson<string>(apiUrl("version"));
  return typeof version === "string" ? version : "unknown";
}

export const chroma: StackService = {
  name: "chroma",
  get url() {
    return config().CHROMA_URL;
  },
  probe,
  async provision() {
    // Load the binding once up front: a build for a newer glibc fails here with a clear cause.
    try {
      await run(process.execPath, ["-e", `require(${JSON.stringify(BINDING)})`], {
        cwd: repoRoot,
        timeoutMs: 30_000,
        what: `loading ${BINDING}`,
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const cause = /GLIBC_[\d.]+/.exec(msg)
        ? `this build needs a newer glibc than the system has (${/GLIBC_[\d.]+/.exec(msg)?.[0]} missing; ` +
          `keep the package pinned to 1.0.1 via package.json "overrides")`
        : /Cannot find module/.test(msg)
          ? "the package is not installed (npm ci)"
          : "see below";
      throw new StackError(`Chroma cannot start: ${BINDING} failed to load: ${cause}\n${msg}`);
    }
  },
  async start(log) {
    const url = new URL(config().CHROMA_URL);
    const port = urlPort(config().CHROMA_URL);
    log(`chroma: starting on port ${port}`);
    const pid = startChroma({
      host: url.hostname,
      port,
      dataDir: cachePath("chroma"),
      log: logFile("chroma"),
    });
    const version = await orStop(
      () => [pid],
      () => waitFor("chroma", probe, { timeoutMs: 60_000, pid, log: logFile("chroma") }),
    );
    return { version, started: { pid, startedAt: new Date().toISOString(), log: logFile("chroma") } };
  },
};

/**
 * Starts a Chroma server (detached) on `port` with its data in `dataDir`; returns its pid. The stack
 * starts the shared one; the fault tests start private ones on other ports.
 */
export function startChroma(opts: { host?: string; port: number; dataDir: string; log: string }): number {
  mkdirSync(opts.dataDir, { recursive: true });
  const argv = [
    "chroma",
    "run",
    "--path",
    opts.dataDir,
    "--host",
    opts.host ?? "127.0.0.1",
    "--port",
    String(opts.port),
  ];
  const script = `require(${JSON.stringify(BINDING)}).cli(${JSON.stringify(argv)})`;
  // Run from the repo root so require() resolves the binding from node_modules.
  return spawnDetached(process.execPath, ["-e", script], { cwd: repoRoot, log: opts.log });
}
