import pg from "pg";

/** The group roles migrations/1733400000000_database-roles.sql creates: they hold the grants. */
type DatabaseRole = "trisearch_reader" | "trisearch_writer";

export interface DatabaseLogin {
  readonly username: string;
  readonly password: string;
  readonly role: DatabaseRole;
}

/**
 * Creates each login user (or sets its password when it exists) and makes it a member of its group
 * role, connected as the owner (the migrating user). Idempotent: the migrate function runs it on
 * every deploy with the secrets' current values, so a rotated secret (its `_clone` user) stays valid.
 * Returns the user names.
 */
export async function provisionLogins(
  databaseUrl: string,
  logins: readonly DatabaseLogin[],
): Promise<string[]> {
  if (logins.length === 0) return [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const login of logins) {
      const user = pg.escapeIdentifier(login.username);
      const password = pg.escapeLiteral(login.password);
      const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [login.username]);
      await client.query(
        exists.rowCount
          ? `ALTER ROLE ${user} WITH LOGIN PASSWORD ${password}`
          : `CREATE ROLE ${user} WITH LOGIN PASSWORD ${password}`,
      );
      await client.query(`GRANT ${pg.escapeIdentifier(login.role)} TO ${user}`);
    }
  } finally {
    await client.end();
  }
  return logins.map((l) => l.username);
}
