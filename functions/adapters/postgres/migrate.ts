import { existsSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import pg from "pg";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * migrations/ at the repository root when run from source; in a bundle (Lambda package,
 * dist/cli of `npm run build`, the Docker image) the SQL files travel next to the bundle file.
 */
const MIGRATIONS_DIR = existsSync(path.join(here, "migrations"))
  ? path.join(here, "migrations")
  : path.resolve(here, "../../../migrations");

/** Applies every pending migration; returns the names applied. Safe to run concurrently (advisory lock). */
export async function migrateUp(
  databaseUrl: string,
  log: (msg: string) => void = () => {},
): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: "up",
    migrationsTable: "pgmigrations",
    count: Number.POSITIVE_INFINITY,
    log,
    noLock: false,
    checkOrder: true,
  });
  return applied.map((m) => m.name);
}

/**
 * Waits until the database answers `SELECT 1`, retrying any error every `intervalMs` until
 * `timeoutMs` has passed, then throws the last one; returns the attempts it took. On a first deploy
 * the migration runs as soon as CloudFormation has created RDS Proxy, whose target may still be
 * registering: a refused or failed first connection must not fail (and roll back) the deploy.
 */
export async function waitForDatabase(
  databaseUrl: string,
  opts: { readonly timeoutMs: number; readonly intervalMs?: number; readonly log?: (msg: string) => void },
): Promise<number> {
  const interval = opts.intervalMs ?? 5_000;
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
    // A connection that fails after connect() emits 'error'; the attempt's own catch reports it.
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return attempt;
    } catch (err) {
      if (Date.now() + interval > deadline) throw err;
      opts.log?.(`database not answering yet (attempt ${attempt}): ${(err as Error).message}`);
      await sleep(interval);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
