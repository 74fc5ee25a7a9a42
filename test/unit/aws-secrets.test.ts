import { describe, expect, it } from "vitest";
import { databaseUrlFromSecret, resolveSecretEnv } from "../../functions/shared/aws-secrets";

const rdsSecret = JSON.stringify({
  engine: "postgres",
  username: "trisearch",
  password: "p=ss,wo.rd^",
  host: "instance.abc.eu-west-1.rds.amazonaws.com",
  port: 5432,
  dbname: "trisearch",
});

describe("databaseUrlFromSecret", () => {
  it("targets the proxy host, not the instance host from the secret, over verified TLS", () => {
    const url = new URL(
      databaseUrlFromSecret(rdsSecret, { host: "proxy.example", port: "5432", database: "trisearch" }),
    );
    expect(url.hostname).toBe("proxy.example");
    expect(url.port).toBe("5432");
    expect(url.pathname).toBe("/trisearch");
    expect(url.searchParams.get("sslmode")).toBe("verify-full");
    expect(decodeURIComponent(url.username)).toBe("trisearch");
    expect(decodeURIComponent(url.password)).toBe("p=ss,wo.rd^");
  });

  it("falls back to the secret's own host, port and database", () => {
    const url = new URL(databaseUrlFromSecret(rdsSecret));
    expect(url.hostname).toBe("instance.abc.eu-west-1.rds.amazonaws.com");
    expect(url.pathname).toBe("/trisearch");
  });

  it("rejects a secret without credentials or a host", () => {
    expect(() => databaseUrlFromSecret("not json")).toThrow(/not JSON/);
    expect(() => databaseUrlFromSecret(JSON.stringify({ username: "u" }))).toThrow(/username\/password/);
    expect(() => databaseUrlFromSecret(JSON.stringify({ username: "u", password: "p" }))).toThrow(/host/);
  });
});

describe("resolveSecretEnv", () => {
  const fetcher = (values: Record<string, string>) => {
    const calls: string[] = [];
    const fetch = async (id: string) => {
      calls.push(id);
      const v = values[id];
      if (v === undefined) throw new Error(`no secret ${id}`);
      return v;
    };
    return { fetch, calls };
  };

  it("fills DATABASE_URL, SLACK_SIGNING_SECRET and CURSOR_SECRET from their secrets", async () => {
    const f = fetcher({ "arn:db": rdsSecret, "arn:slack": "s3cr3t\n", "arn:cursor": "c".repeat(64) });
    const env: Record<string, string | undefined> = {
      DB_SECRET_ARN: "arn:db",
      DB_HOST: "proxy.example",
      DB_NAME: "trisearch",
      SLACK_SIGNING_SECRET_ARN: "arn:slack",
      CURSOR_SECRET_ARN: "arn:cursor",
    };
    await resolveSecretEnv(env, f.fetch);
    expect(new URL(env.DATABASE_URL!).hostname).toBe("proxy.example");
    expect(env.SLACK_SIGNING_SECRET).toBe("s3cr3t");
    expect(env.CURSOR_SECRET).toBe("c".repeat(64));
    expect(f.calls.sort()).toEqual(["arn:cursor", "arn:db", "arn:slack"]);
  });

  it("fills SLACK_BOT_TOKEN from its secret; a blank secret (the stack's placeholder) leaves it unset", async () => {
    const f = fetcher({ "arn:bot": "xoxb-1-2\n", "arn:blank": " " });
    const env: Record<string, string | undefined> = { SLACK_BOT_TOKEN_ARN: "arn:bot" };
    await resolveSecretEnv(env, f.fetch);
    expect(env.SLACK_BOT_TOKEN).toBe("xoxb-1-2");
    const blank: Record<string, string | undefined> = { SLACK_BOT_TOKEN_ARN: "arn:blank" };
    await resolveSecretEnv(blank, f.fetch);
    expect(blank.SLACK_BOT_TOKEN).toBeUndefined();
    expect(f.calls).toEqual(["arn:bot", "arn:blank"]);
  });

  it("gives the migrate function its login users' names and passwords (reader and writer secrets)", async () => {
    const reader = JSON.stringify({ username: "trisearch_search", password: "r-pw", engine: "postgres" });
    const writer = JSON.stringify({ username: "trisearch_app_clone", password: "w-pw" });
    const f = fetcher({ "arn:reader": reader, "arn:writer": writer });
    const env: Record<string, string | undefined> = {
      DB_READER_SECRET_ARN: "arn:reader",
      DB_WRITER_SECRET_ARN: "arn:writer",
    };
    await resolveSecretEnv(env, f.fetch);
    expect(env).toMatchObject({
      DATABASE_READER_USER: "trisearch_search",
      DATABASE_READER_PASSWORD: "r-pw",
      DATABASE_WRITER_USER: "trisearch_app_clone",
      DATABASE_WRITER_PASSWORD: "w-pw",
    });
    await expect(
      resolveSecretEnv({ DB_READER_SECRET_ARN: "arn:bad" }, fetcher({ "arn:bad": "{}" }).fetch),
    ).rejects.toThrow("database secret lacks username/password");
  });

  it("keeps explicit values and fetches nothing without ARNs", async () => {
    const f = fetcher({});
    const env: Record<string, string | undefined> = {
      DB_SECRET_ARN: "arn:db",
      DATABASE_URL: "postgres://x@h/db",
    };
    await resolveSecretEnv(env, f.fetch);
    await resolveSecretEnv({}, f.fetch);
    expect(env.DATABASE_URL).toBe("postgres://x@h/db");
    expect(f.calls).toEqual([]);
  });

  it("fails the cold start when a secret cannot be read", async () => {
    const f = fetcher({});
    await expect(resolveSecretEnv({ DB_SECRET_ARN: "arn:missing", DB_HOST: "h" }, f.fetch)).rejects.toThrow(
      /no secret arn:missing/,
    );
  });
});
