import pg from "pg";
import { type Config, config } from "../config";
import { logger } from "../logger";
import { ClientCache } from "./cache";

export const pgPools = new ClientCache<pg.Pool>((p) => p.end());

export function pgPool(cfg: Config = config()): pg.Pool {
  return pgPools.get(cfg.DATABASE_URL, () => {
    const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: cfg.DATABASE_POOL_MAX });
    // An idle connection closed by the server (failover, proxy timeout) must not crash the
    // container: the pool drops it and the next query opens a new one.
    pool.on("error", (err) => logger.warn("postgres idle client error", { error: err }));
    return pool;
  });
}
