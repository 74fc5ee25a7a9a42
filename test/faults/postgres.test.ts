import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { container } from "../../functions/shared/container";
import { type Namespace, startNamespace } from "../../local/namespace";
import {
  expectConverged,
  type PrivateService,
  privatePostgres,
  recordFault,
  silenceLogs,
  sleep,
} from "./helpers";

/**
 * PostgreSQL (the source of truth) stopped during ingest and search: every call answers 503 with
 * Retry-After (issue 22: they were 500s), a client that retries on it loses nothing, and after the
 * restart (crash recovery) everything accepted is stored and indexed once.
 */
const message = (i: number) => ({
  external_id: `pg-${i}`,
  channel: i % 2 ? "#db" : "#ops",
  author: "dba@company.com",
  content: `Failover drill ${i}: primary stopped, writes must answer 503 and land after recovery`,
  timestamp: new Date(Date.UTC(2025, 11, 3, 0, i)).toISOString(),
});
const batch = (from: number, n: number) => ({
  source: { type: "app", name: "drill" },
  messages: Array.from({ length: n }, (_, i) => message(from + i)),
});

describe("fault: PostgreSQL stopped during ingest and search", () => {
  let pg: PrivateService;
  let ns: Namespace;

  let restoreLogs: () => void;

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    pg = await privatePostgres();
    await pg.start();
    ns = await startNamespace({
      prefix: "f",
      label: "postgres",
      baseEnv: { ...process.env, DATABASE_URL: pg.url },
      visibilityTimeout: 2,
      maxReceiveCount: 1000,
    });
  });
  afterAll(async () => {
    restoreLogs();
    await ns?.close();
    await pg?.dispose();
  });

  it("answers 503 + Retry-After while it is down, then stores and indexes every retried write once", async () => {
    expect((await ns.api("POST", "/messages", batch(0, 40))).status).toBe(202);
    await expectConverged(container(), 40);

    await pg.kill();
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${ns.app.url}${path}`, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      await res.text();
      statuses.push(res.status);
      retryAfter.push(res.headers.get("retry-after"));
      return res.status;
    };
    expect(await call("POST", "/messages", batch(40, 20))).toBe(503);
    expect(await call("GET", "/search?q=failover+drill")).toBe(503);
    expect(await call("GET", "/search?q=failover&strategy=bm25")).toBe(503);
    expect(await call("DELETE", "/messages/1")).toBe(503);
    expect(retryAfter.every((r) => r !== null && Number(r) > 0)).toBe(true);

    const restartMs = await pg.start();
    // The client honours Retry-After: the same batch again until it is accepted.
    const t0 = performance.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const status = await call("POST", "/messages", batch(40, 20));
      if (status === 202) break;
      expect(status).toBe(503);
      expect(attempts).toBeLessThan(60);
      await sleep(500);
    }
    expect(await call("GET", "/search?q=failover+drill")).toBe(200);
    await expectConverged(container(), 60);
    const recoveryMs = Math.round(performance.now() - t0) + restartMs;
    // Nothing but 503 (down) and 2xx (up): never a 500.
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    recordFault({
      fault: "PostgreSQL immediate shutdown during ingest and search",
      accepted: `40 before; while down POST /messages, GET /search (hybrid, bm25), DELETE: all 503 + Retry-After; the 20-message batch retried until 202 (${attempts} attempt(s) after restart)`,
      after: "60 in PostgreSQL, OpenSearch and Chroma, outbox empty, no drift; search 200",
      recoveryMs,
    });
  });
});
