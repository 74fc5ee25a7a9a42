import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startChroma } from "../../local/stack/chroma";
import { probeAt, startElasticMq } from "../../local/stack/elasticmq";
import { startOpenSearch } from "../../local/stack/opensearch";
import { getJson, isAlive, isRoot, run } from "../../local/stack/process";
import { waitUntil } from "./wait";

/**
 * Private instances of the services the fault cases kill. Other engineers' runs share the stack's
 * services, so a fault case never touches those: it starts its own server of the same build (the
 * local/stack code, another port and data dir), kills it with SIGKILL and starts it again on the
 * same data.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** A scratch dir every service user can traverse (OpenSearch and PostgreSQL run as their own users). */
export function scratchDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `trisearch-fault-${label}-`));
  chmodSync(dir, 0o755);
  return dir;
}

export interface PrivateService {
  readonly name: string;
  readonly url: string;
  /** Starts (or restarts on the same data) and waits until healthy; resolves to the ms it took. */
  start(): Promise<number>;
  /** SIGKILL (PostgreSQL: an immediate shutdown, its crash path) and wait until the port is dead. */
  kill(): Promise<void>;
  /** Kills it and removes its data. */
  dispose(): Promise<void>;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await waitUntil("killed processes gone", async () => pids.every((p) => p <= 0 || !isAlive(p)), {
    timeoutMs: 15_000,
    everyMs: 100,
  });
}

export function privateChroma(): Promise<PrivateService> {
  return (async () => {
    const port = await freePort();
    const dir = scratchDir("chroma");
    const url = `http://127.0.0.1:${port}`;
    let pid = 0;
    const up = async () => (await getJson(`${url}/api/v2/heartbeat`, 1000)) !== undefined;
    return {
      name: "chroma",
      url,
      start: () =>
        timed(async () => {
          pid = startChroma({ port, dataDir: path.join(dir, "data"), log: path.join(dir, "chroma.log") });
          await waitUntil("private chroma up", up, { timeoutMs: 60_000, everyMs: 100 });
        }),
      async kill() {
        await killPids([pid]);
      },
      async dispose() {
        await killPids([pid]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  })();
}

export async function privateElasticMq(): Promise<PrivateService> {
  const port = await freePort();
  const dir = scratchDir("elasticmq");
  const url = `http://127.0.0.1:${port}`;
  let pid = 0;
  return {
    name: "elasticmq",
    url,
    start: () =>
      timed(async () => {
        ({ pid } = startElasticMq({
          port,
          dataDir: path.join(dir, "data"),
          log: path.join(dir, "elasticmq.log"),
        }));
        await waitUntil("private elasticmq up", async () => (await probeAt(url)) !== undefined, {
          timeoutMs: 120_000,
          everyMs: 200,
        });
      }),
    async kill() {
      await killPids([pid]);
    },
    async dispose() {
      await killPids([pid]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function privateOpenSearch(): Promise<PrivateService> {
  const port = await freePort();
  const dir = scratchDir("opensearch");
  const url = `http://127.0.0.1:${port}`;
  let pids: number[] = [];
  return {
    name: "opensearch",
    url,
    start: () =>
      timed(async () => {
        const started = await startOpenSearch({
          port,
          baseDir: dir,
          log: path.join(dir, "opensearch.log"),
          heap: "384m",
        });
        pids = [started.wrapperPid];
        await waitUntil(
          "private opensearch yellow",
          async () => {
            const h = await getJson<{ status?: string }>(
              `${url}/_cluster/health?wait_for_status=yellow&timeout=2s`,
              5000,
            );
            return h?.status === "yellow" || h?.status === "green";
          },
          { timeoutMs: 180_000, everyMs: 500 },
        );
        pids = [await started.javaPid(), started.wrapperPid];
      }),
    async kill() {
      await killPids(pids);
    },
    async dispose() {
      await killPids(pids);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest PostgreSQL server binaries the machine has (Debian: /usr/lib/postgresql/N/bin). */
function pgBin(tool: string): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = `/usr/lib/postgresql/${v}/bin/${tool}`;
    if (existsSync(p)) return p;
  }
  throw new Error(`${tool} not found under /usr/lib/postgresql`);
}

/**
 * A private PostgreSQL cluster (initdb + pg_ctl, trust auth on 127.0.0.1 only) on a free port.
 * As root it runs as the `postgres` system user, which the Debian package creates.
 */
export async function privatePostgres(): Promise<PrivateService> {
  const port = await freePort();
  const dir = scratchDir("postgres");
  const data = path.join(dir, "data");
  const asPg = (tool: string, args: string[]) =>
    isRoot()
      ? run("runuser", ["-u", "postgres", "--", pgBin(tool), ...args], { timeoutMs: 120_000 })
      : run(pgBin(tool), args, { timeoutMs: 120_000 });
  if (isRoot()) execFileSync("chown", ["postgres:", dir]);
  await asPg("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`;
  const postmasterPid = () =>
    Number.parseInt(readFileSync(path.join(data, "postmaster.pid"), "utf8"), 10) || 0;
  return {
    name: "postgres",
    url,
    start: () =>
      timed(async () => {
        await asPg("pg_ctl", [
          "-D",
          data,
          "-o",
          options,
          "-l",
          path.join(dir, "postgres.log"),
          "-w",
          "-t",
          "60",
          "start",
        ]);
      }),
    async kill() {
      // Immediate shutdown: no checkpoint, clients cut off, crash recovery at the next start.
      await asPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    },
    async dispose() {
      if (existsSync(path.join(data, "postmaster.pid"))) {
        const pid = postmasterPid();
        await asPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => killPids([pid]));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
