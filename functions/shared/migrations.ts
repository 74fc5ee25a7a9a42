import { migrateUp } from "../adapters/postgres/migrate";
import { type Config, config } from "./config";

/**
 * Applies the pending migrations to the configured database: the migrate function's one job, wired
 * apart from container.ts so its bundle carries node-pg-migrate and pg only.
 */
export function applyMigrations(cfg: Config = config(), log?: (message: string) => void): Promise<string[]> {
  return migrateUp(cfg.DATABASE_URL, log);
}
