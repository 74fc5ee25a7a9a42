import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "./config";

/** Where the local runtime keeps its generated cursor key (git-ignored with the rest of CACHE_DIR). */
function localCursorSecretPath(cacheDir: string): string {
  return path.resolve(cacheDir, "cursor-secret");
}

/**
 * The key search cursors are signed with: CURSOR_SECRET when set (Secrets Manager in AWS), else a
 * random key generated once under CACHE_DIR and reused, so cursors survive a local restart and
 * every local process (API, tests) shares it. Inside Lambda an unset secret is a configuration
 * error: a per-container key would reject cursors issued by another container.
 */
export function resolveCursorSecret(cfg: {
  CURSOR_SECRET?: string | undefined;
  CACHE_DIR: string;
  inLambda?: boolean;
}): string {
  if (cfg.CURSOR_SECRET) return cfg.CURSOR_SECRET;
  if (cfg.inLambda) throw new ConfigError("CURSOR_SECRET (or CURSOR_SECRET_ARN) must be set in AWS");
  const file = localCursorSecretPath(cfg.CACHE_DIR);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    // wx: of two processes racing to create it, one wins and the other reads the winner's key.
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(file, "utf8").trim();
}
