import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionLogins } from "../../functions/adapters/postgres/database-logins";
import { PgCollectionRegistry } from "../../functions/adapters/postgres/pg-collection-registry";
import { ingestMessages } from "../../functions/core/ingest";
import { parseIngestRequest } from "../../functions/core/ingest-request";
import { parseSearchRequest } from "../../functions/core/search/search-request";
import { createContainer } from "../../functions/shared/container";
import { searchService } from "../../functions/shared/search-service";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { waitUntil } from "../helpers/wait";

/**
 * README "Database roles": the search functions connect as a member of trisearch_reader, the
 * writers as a member of trisearch_writer, migrations as the owner. Real PostgreSQL: the grants
 * the migration gives, the users the migrate function creates, and what each may not do.
 */
const suffix = randomBytes(3).toString("hex");
const reader = { username: `t_search_${suffix}`, password: `r-${randomBytes(8).toString("hex")}` };
const writer = { username: `t_app_${suffix}`, password: `w-${randomBytes(8).toString("hex")}` };

let t: TestApp;
const urlAs = (login: { username: string; password: string }) => {
  const url = new URL(t.config.DATABASE_URL);
  url.username = login.username;
  url.password = login.password;
  return url.toString();
};

async function asUser<T>(login: { username: string; password: string }, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: urlAs(login) });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const denied = (login: { username: string; password: string }, sql: string) =>
  expect(asUser(login, sql)).rejects.toMatchObject({ code: "42501" });

beforeAll(async () => {
  t = await startTestApp("roles");
  expect(
    await provisionLogins(t.config.DATABASE_URL, [
      { ...reader, role: "trisearch_reader" },
      { ...writer, role: "trisearch_writer" },
    ]),
  ).toEqual([reader.username, writer.username]);
});

afterAll(async () => {
  await t?.close();
  // Roles belong to the cluster: the test's users go with it (the group roles stay, shared).
  const admin = new pg.Client({
    connectionString: t.config.DATABASE_URL.replace(/\/[^/?]*(\?|$)/, "/postgres$1"),
  });
  await admin.connect();
  for (const u of [reader.username, writer.username])
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(u)}`);
  await admin.end();
});

describe("database roles (least privilege)", () => {
  it("the writer ingests (rows, outbox, sequences, access) but cannot change the schema", async () => {
    const c = createContainer({ ...t.config, DATABASE_URL: urlAs(writer) });
    const request = parseIngestRequest({ source: DEMO_SOURCE, messages: DEMO_MESSAGES });
    const outcomes = await ingestMessages(
      { store: c.store, outbox: c.store, publisher: c.publisher, warn: c.warn, access: c.access },
      request.source,
      request.messages,
      request.visibility,
    );
    expect(outcomes.filter((o) => o.status === "created")).toHaveLength(DEMO_MESSAGES.length);
    await denied(writer, "CREATE TABLE t_writer_probe (id int)");
    await denied(writer, "DROP TABLE messages");
    await denied(writer, "ALTER TABLE messages ADD COLUMN probe int");
    await denied(writer, "SELECT * FROM pgmigrations");
  });

  it("the reader runs a hybrid search with access checks and gaps reads, and writes nothing", async () => {
    const owner = createContainer(t.config);
    await waitUntil("both indexes complete", async () => {
      const [k, v] = await Promise.all([owner.keywordIndex().count(true), owner.vectorIndex().count()]);
      return k === DEMO_MESSAGES.length && v === DEMO_MESSAGES.length;
    });
    const c = createContainer({ ...t.config, DATABASE_URL: urlAs(reader) });
    const res = await searchService(c)(
      parseSearchRequest({ q: "OAuth login", strategy: "hybrid" }, c.cursorKey, () => ({ kind: "unscoped" })),
    );
    expect(res.degraded).toEqual([]);
    expect(res.hits.length).toBeGreaterThan(0);
    expect(await c.gapStore.latestRun({ limit: 10 })).toBeNull();
    expect(await c.gapStore.latestRunMessageIds()).toEqual(new Set());
    await denied(reader, "INSERT INTO sources (type, name) VALUES ('app', 'probe')");
    await denied(reader, "UPDATE messages SET content = 'x'");
    await denied(reader, "DELETE FROM outbox");
    await denied(reader, "SELECT * FROM pgmigrations");
  });

  it("a reader's first look at the vector collections stores nothing and answers the initial state", async () => {
    // As if no writer had stored the state yet (the search functions cannot store it).
    await t.db.pool.query("DELETE FROM reconcile_state WHERE name = 'vector_collections'");
    const pool = new pg.Pool({ connectionString: urlAs(reader), max: 1 });
    try {
      const initial = { active: { name: "probe", model: "m", dimension: 3 } };
      const registry = new PgCollectionRegistry(pool);
      expect(await registry.initCollections(initial)).toEqual(initial);
      expect(await registry.loadCollections()).toBeNull();
    } finally {
      await pool.end();
    }
  });

  it("provisioning again sets the current password (a rotated secret) and keeps the membership", async () => {
    // (The local server trusts local connections: the stored hash shows the change, not a login.)
    const hash = async () =>
      (await t.db.pool.query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [reader.username]))
        .rows[0]?.rolpassword as string;
    const before = await hash();
    const rotated = { ...reader, password: `r2-${randomBytes(8).toString("hex")}` };
    await provisionLogins(t.config.DATABASE_URL, [{ ...rotated, role: "trisearch_reader" }]);
    expect(await hash()).not.toEqual(before);
    expect(await asUser<{ n: string }>(rotated, "SELECT count(*) AS n FROM messages")).toEqual([
      { n: String(DEMO_MESSAGES.length) },
    ]);
    await denied(rotated, "DELETE FROM messages");
  });
});
