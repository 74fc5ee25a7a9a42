import { type DatabaseLogin, provisionLogins } from "../adapters/postgres/database-logins";
import { migrateUp, waitForDatabase } from "../adapters/postgres/migrate";
import { type Config, config } from "./config";

/** The login users the configuration names (in AWS: from the reader and writer secrets). */
function configuredLogins(cfg: Config): DatabaseLogin[] {
  const logins: DatabaseLogin[] = [];
  if (cfg.DATABASE_READER_USER && cfg.DATABASE_READER_PASSWORD)
    logins.push({
      username: cfg.DATABASE_READER_USER,
      password: cfg.DATABASE_READER_PASSWORD,
      role: "trisearch_reader",
    });
  if (cfg.DATABASE_WRITER_USER && cfg.DATABASE_WRITER_PASSWORD)
    logins.push({
      username: cfg.DATABASE_WRITER_USER,
      password: cfg.DATABASE_WRITER_PASSWORD,
      role: "trisearch_writer",
    });
  return logins;
}

/**
 * Applies the pending migrations to the configured database, then creates the functions' login
 * users in their roles (README "Database roles"): the migrate function's one job, wired apart
 * from container.ts so its bundle carries node-pg-migrate and pg only.
 */
export async function applyMigrations(
  cfg: Config = config(),
  log?: (message: string) => void,
  opts: { readonly waitForDatabaseMs?: number } = {},
): Promise<{ applied: string[]; logins: string[] }> {
  if (opts.waitForDatabaseMs)
    await waitForDatabase(cfg.DATABASE_URL, { timeoutMs: opts.waitForDatabaseMs, ...(log ? { log } : {}) });
  const applied = await migrateUp(cfg.DATABASE_URL, log);
  const logins = await provisionLogins(cfg.DATABASE_URL, configuredLogins(cfg));
  return { applied, logins };
}
