import { createServer, type Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitForDatabase } from "../../functions/adapters/postgres/migrate";

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const target = new URL(ADMIN_URL);

/** A free local port: listened on, then closed. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** From `port` to the real PostgreSQL, as RDS Proxy is once its target is registered. */
async function relay(port: number): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = new Socket();
    outbound.connect(Number(target.port || 5432), target.hostname);
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close);
    outbound.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

const urlAt = (port: number) => {
  const u = new URL(ADMIN_URL);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
};

describe("the migration waits for the database (RDS Proxy's target registering on a first deploy)", () => {
  it("retries refused connections until the database answers", async () => {
    const port = await freePort();
    const log: string[] = [];
    const opened = new Promise<void>((resolve) =>
      setTimeout(async () => {
        servers.push(await relay(port));
        resolve();
      }, 1_000),
    );
    const attempts = await waitForDatabase(urlAt(port), {
      timeoutMs: 20_000,
      intervalMs: 200,
      log: (m) => log.push(m),
    });
    await opened;
    expect(attempts).toBeGreaterThan(1);
    expect(log.length).toBe(attempts - 1);
    expect(log[0]).toMatch(/\(attempt 1\): connect ECONNREFUSED/);
  });

  it("answers at once when the database is up, and gives up with the last error after its deadline", async () => {
    expect(await waitForDatabase(ADMIN_URL, { timeoutMs: 1_000 })).toBe(1);
    const port = await freePort();
    const started = Date.now();
    await expect(waitForDatabase(urlAt(port), { timeoutMs: 800, intervalMs: 200 })).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
