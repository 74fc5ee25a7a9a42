import path from "node:path";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";

/** migrations/ at the repository root (and next to the bundle in a Lambda package). */
export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../migrations",
);

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
