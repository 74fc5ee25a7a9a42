import { getSecret } from "@aws-lambda-powertools/parameters/secrets";

/**
 * In AWS, credentials live in Secrets Manager, not in function configuration: the stack hands a
 * function secret ARNs (DB_SECRET_ARN, SLACK_SIGNING_SECRET_ARN, SLACK_BOT_TOKEN_ARN, CURSOR_SECRET_ARN)
 * and this module turns them into the env vars config() reads (DATABASE_URL, SLACK_SIGNING_SECRET,
 * SLACK_BOT_TOKEN, CURSOR_SECRET) once per cold start.
 */

export type SecretFetcher = (secretId: string) => Promise<string>;

/** The JSON an RDS-generated secret holds (fields we do not use are ignored). */
interface DbSecret {
  readonly username: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
}

function parseDbSecret(text: string): DbSecret {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("database secret is not JSON");
  }
  const s = json as Partial<DbSecret> | null;
  if (!s || typeof s.username !== "string" || typeof s.password !== "string") {
    throw new Error("database secret lacks username/password");
  }
  return s as DbSecret;
}

/**
 * A TLS connection URL for the secret's user. `host` (the RDS Proxy endpoint) wins over the
 * secret's own host, which names the instance behind the proxy.
 */
export function databaseUrlFromSecret(
  secretText: string,
  target: { host?: string; port?: string; database?: string; sslmode?: string } = {},
): string {
  const s = parseDbSecret(secretText);
  const host = target.host || s.host;
  if (!host) throw new Error("database host unknown: set DB_HOST or store host in the secret");
  const port = target.port || String(s.port ?? 5432);
  const database = target.database || s.dbname || "postgres";
  const user = encodeURIComponent(s.username);
  const password = encodeURIComponent(s.password);
  // verify-full by default: RDS Proxy presents an ACM certificate that Node's bundled CAs trust.
  const sslmode = target.sslmode || "verify-full";
  return `postgres://${user}:${password}@${host}:${port}/${encodeURIComponent(database)}?sslmode=${sslmode}`;
}

/**
 * Fills DATABASE_URL, DATABASE_READER_USER/_PASSWORD, DATABASE_WRITER_USER/_PASSWORD (the migrate
 * function only), SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and CURSOR_SECRET from their secrets when the
 * ARN is set and the value is not (an explicit value always wins, e.g. in tests). Mutates and returns `env`.
 */
export async function resolveSecretEnv(
  env: Record<string, string | undefined>,
  fetchSecret: SecretFetcher,
): Promise<Record<string, string | undefined>> {
  const jobs: Promise<void>[] = [];
  if (env.DB_SECRET_ARN && !env.DATABASE_URL) {
    const arn = env.DB_SECRET_ARN;
    jobs.push(
      fetchSecret(arn).then((text) => {
        env.DATABASE_URL = databaseUrlFromSecret(text, {
          host: env.DB_HOST,
          port: env.DB_PORT,
          database: env.DB_NAME,
          sslmode: env.DB_SSLMODE,
        });
      }),
    );
  }
  // The migrate function's login users: their name and password become DATABASE_<ROLE>_USER/_PASSWORD.
  for (const role of ["READER", "WRITER"] as const) {
    const arn = env[`DB_${role}_SECRET_ARN`];
    if (!arn || env[`DATABASE_${role}_USER`]) continue;
    jobs.push(
      fetchSecret(arn).then((text) => {
        const s = parseDbSecret(text);
        env[`DATABASE_${role}_USER`] = s.username;
        env[`DATABASE_${role}_PASSWORD`] = s.password;
      }),
    );
  }
  for (const name of ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "CURSOR_SECRET"] as const) {
    const arn = env[`${name}_ARN`];
    if (!arn || env[name]) continue;
    jobs.push(
      fetchSecret(arn).then((text) => {
        // An empty secret (not filled in yet) leaves the variable unset: the feature stays off.
        if (text.trim() !== "") env[name] = text.trim();
      }),
    );
  }
  await Promise.all(jobs);
  return env;
}

/**
 * Secrets Manager through Powertools Parameters (the SDK client, its retries, a short cache).
 * @aws-sdk/client-secrets-manager is the Lambda runtime's copy: the bundle leaves @aws-sdk/* out.
 */
export const secretsManagerFetcher: SecretFetcher = async (secretId) => {
  const value = await getSecret(secretId);
  if (typeof value !== "string") throw new Error(`secret ${secretId} has no SecretString`);
  return value;
};
