import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";

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
