import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateUp } from "../../functions/adapters/postgres/migrate";

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database per test file: tests never see each other's rows. */
export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  const name = `trisearch_test_${label}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  await migrateUp(url);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // DROP DATABASE ... WITH (FORCE) terminates connections that are still closing: expected here.
  const ignoreTermination = (err: Error & { code?: string }) => {
    if (err.code !== "57P01") throw err;
  };
  pool.on("error", ignoreTermination);
  pool.on("connect", (client) => client.on("error", ignoreTermination));
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(name);
    },
  };
}

/** Drops a database by name, closing whatever connections it still has. */
export async function dropDatabase(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
