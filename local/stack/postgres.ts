import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { config } from "../../functions/shared/config";
import {
  isRoot,
  requireTool,
  run,
  StackError,
  type StackService,
  type StartedService,
  waitFor,
} from "./process";

/** The same server as DATABASE_URL, but another database (admin work happens in `postgres`). */
export function databaseUrl(database: string, base = config().DATABASE_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

function databaseName(url = config().DATABASE_URL): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: databaseUrl("postgres"),
    connectionTimeoutMillis: 3000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a database if it is missing (tests use `trisearch_test`); safe to race. */
export async function ensureDatabase(name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new StackError(`invalid database name "${name}"`);
  await withAdmin(async (client) => {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount) return;
    try {
      await client.query(`create database "${name}"`);
    } catch (err) {
      // 42P04 duplicate_database / 23505: a concurrent run created it first, which is fine.
      const code = (err as { code?: string }).code;
      if (code !== "42P04" && code !== "23505") throw err;
    }
  });
}

async function probe(): Promise<string | undefined> {
  try {
    return await withAdmin(async (client) => {
      const res = await client.query<{ server_version: string }>("show server_version");
      return res.rows[0]?.server_version;
    });
  } catch {
    return undefined;
  }
}

/** The newest cluster version under /etc/postgresql (Debian's layout). */
function clusterVersion(): string {
  let versions: string[];
  try {
    versions = readdirSync("/etc/postgresql").filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    versions = [];
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new StackError("PostgreSQL is not installed (no cluster under /etc/postgresql)");
  return newest;
}

export const postgres: StackService = {
  name: "postgres",
  get url() {
    const u = new URL(config().DATABASE_URL);
    return `postgres://${u.host}/${databaseName()}`;
  },
  probe,
  async provision() {
    // Installed by the machine (Debian packages); nothing to download.
  },
  async start(log) {
    const tool = requireTool("pg_ctlcluster", "install the postgresql Debian package");
    if (!isRoot()) throw new StackError("PostgreSQL is down and starting it needs root (pg_ctlcluster)");
    const version = clusterVersion();
    log(`postgres: pg_ctlcluster ${version} main start`);
    const args = ["--skip-systemctl-redirect", version, "main"];
    await run(tool, [...args, "start"], { timeoutMs: 120_000 });
    const pgLog = `/var/log/postgresql/postgresql-${version}-main.log`;
    const serverVersion = await waitFor("postgres", probe, { timeoutMs: 60_000, log: pgLog });
    const pidText = await readFile(`/var/run/postgresql/${version}-main.pid`, "utf8").catch(() => "0");
    const started: StartedService = {
      pid: Number.parseInt(pidText, 10) || 0,
      stopCommand: [tool, ...args, "stop"],
      startedAt: new Date().toISOString(),
      log: pgLog,
    };
    return { started, version: serverVersion };
  },
  async ready(log) {
    const name = databaseName();
    await ensureDatabase(name);
    log(`postgres: database "${name}" present`);
  },
};
