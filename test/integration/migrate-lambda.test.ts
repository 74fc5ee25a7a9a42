import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_AFTER_BUNDLING } from "../../lib/database";
import { REPO_ROOT, TrisearchFunction } from "../../lib/trisearch-function";

const run = promisify(execFile);
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * The migration Lambda exactly as deployed: bundled by the CDK construct (local esbuild), run by
 * Node from its own folder against the real local PostgreSQL. Secrets Manager does not run here,
 * so a stand-in for the runtime-provided @aws-sdk/client-secrets-manager answers the one
 * GetSecretValue call (the way the secret ARN becomes DATABASE_URL is what is under test).
 */
let work: string;
let cdkOut: string;
let dbName: string;
let taskDir: string;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "trisearch-migrate-lambda-"));
  cdkOut = path.join(work, "cdk.out");
  const app = new App({ outdir: cdkOut, builtinCloudFormationValidation: false });
  const stack = new Stack(app, "MigrateOnly");
  const vpc = new ec2.Vpc(stack, "Vpc", {
    natGateways: 0,
    subnetConfiguration: [{ name: "p", subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const fn = new TrisearchFunction(stack, "Migrate", {
    handlerName: "migrate",
    vpc,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: MIGRATIONS_AFTER_BUNDLING,
    },
  });
  const fnId = stack.getLogicalId(fn.node.defaultChild as CfnResource);
  const key = Template.fromStack(stack).toJSON().Resources[fnId].Properties.Code.S3Key as string;
  taskDir = path.join(work, "task");
  cpSync(path.join(cdkOut, `asset.${key.replace(/\.zip$/, "")}`), taskDir, { recursive: true });

  // The stand-in SDK, resolvable from /var/task-like folder as the runtime's copy would be.
  const sdk = path.join(taskDir, "node_modules", "@aws-sdk", "client-secrets-manager");
  mkdirSync(sdk, { recursive: true });
  writeFileSync(
    path.join(sdk, "package.json"),
    JSON.stringify({ name: "@aws-sdk/client-secrets-manager", type: "module", exports: "./index.js" }),
  );
  writeFileSync(
    path.join(sdk, "index.js"),
    `export class GetSecretValueCommand { constructor(input) { this.input = input; } }
export class ResourceNotFoundException extends Error {}
export class SecretsManagerClient {
  async send(cmd) {
    process.stderr.write("GetSecretValue " + cmd.input.SecretId + "\\n");
    if (cmd.input.SecretId !== "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db") throw new Error("unknown secret");
    return { SecretString: JSON.stringify({ username: "postgres", password: "p@ss:w/rd", host: "instance-not-proxy.invalid", port: 5432, dbname: "wrong" }) };
  }
}
`,
  );

  dbName = `trisearch_test_migrate_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE ${dbName}`);
}, 600_000);

afterAll(async () => {
  if (dbName) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function invoke(): Promise<{ applied: string[]; stderr: string }> {
  const { stdout, stderr } = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(path.join(taskDir, "index.mjs"))});
       const out = await m.handler({ RequestType: "Create" }, {});
       process.stdout.write("RESULT " + JSON.stringify(out) + "\\n");`,
    ],
    {
      cwd: taskDir,
      env: {
        PATH: process.env.PATH,
        AWS_LAMBDA_FUNCTION_NAME: "migrate",
        AWS_REGION: "eu-west-1",
        LOG_LEVEL: "WARN",
        DB_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
        DB_HOST: "127.0.0.1",
        DB_PORT: "5432",
        DB_NAME: dbName,
        // The local server has no TLS; in AWS the URL asks for verify-full.
        DB_SSLMODE: "disable",
      },
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  expect(line, stdout + stderr).toBeDefined();
  return { ...(JSON.parse(line!.slice(7)) as { applied: string[] }), stderr };
}

describe("migration Lambda bundle", () => {
  it("builds DATABASE_URL from the secret and applies every migration, then none on a re-run", async () => {
    const files = readdirSync(path.join(REPO_ROOT, "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.replace(/\.sql$/, ""))
      .sort();
    const first = await invoke();
    expect(first.stderr).toContain("GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:db");
    expect(first.applied.sort()).toEqual(files);

    const c = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`) });
    await c.connect();
    try {
      const rows = await c.query<{ name: string }>("SELECT name FROM pgmigrations ORDER BY name");
      expect(rows.rows.map((r) => r.name)).toEqual(files);
      const tables = await c.query<{ t: string | null }>("SELECT to_regclass('public.messages')::text AS t");
      expect(tables.rows[0]!.t).toBe("messages");
    } finally {
      await c.end();
    }

    const second = await invoke();
    expect(second.applied).toEqual([]);
  }, 300_000);
});
