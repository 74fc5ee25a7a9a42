import { appendFileSync } from "node:fs";
import path from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { driftTotal } from "../../functions/core/reconcile";
import type { Container } from "../../functions/shared/container";
import { logger } from "../../functions/shared/logger";
import { runReconcile } from "../../functions/shared/reconcile-runner";
import { repoRoot } from "../../local/stack/process";
import { type QueueUrls, queueDepth } from "../../local/stack/queues";
import { waitUntil } from "../helpers/wait";

export {
  freePort,
  type PrivateService,
  privateChroma,
  privateElasticMq,
  privateOpenSearch,
  privatePostgres,
  scratchDir,
} from "../helpers/private-services";

/**
 * Zero loss, zero duplicates: PostgreSQL holds exactly the expected live messages, both indexes
 * hold the same number, nothing is pending in the outbox, and a reconcile dry run over everything
 * finds no missing, stale or orphaned entry (so the ids match one for one, not just the counts).
 */
export async function expectConverged(c: Container, expected: number, timeoutMs = 90_000): Promise<number> {
  const t0 = performance.now();
  await waitUntil(
    `${expected} messages in PostgreSQL, OpenSearch and Chroma`,
    async () => {
      const counts = await storeCounts(c);
      return inSync(counts) && counts.postgres === expected ? counts : null;
    },
    { timeoutMs, everyMs: 500 },
  );
  const converged = Math.round(performance.now() - t0);
  const drift = await runReconcile(c, { dryRun: true, maxPages: Number.POSITIVE_INFINITY });
  expect(driftTotal(drift)).toBe(0);
  return converged;
}

/** Nothing was dead-lettered: the outage was ridden out by redeliveries, not parked. */
export async function expectNoDeadLetters(sqs: SQSClient, queues: QueueUrls): Promise<void> {
  for (const [name, q] of Object.entries(queues))
    expect(await queueDepth(sqs, q.dlqUrl), `${name} DLQ`).toBe(0);
}

export interface FaultRecord {
  readonly fault: string;
  readonly accepted: string;
  readonly after: string;
  readonly recoveryMs: number;
}

/** With FAULTS_REPORT set, each case appends its row (README table of test/faults). */
export function recordFault(row: FaultRecord): void {
  const file = process.env.FAULTS_REPORT;
  if (file) appendFileSync(path.resolve(repoRoot, file), `${JSON.stringify(row)}\n`);
}

/**
 * The outages below make the in-process workers and handlers log their expected failures at
 * ERROR: silenced for the file (afterAll restores), so a fault run prints only vitest's report.
 */
export function silenceLogs(): () => void {
  const level = logger.getLevelName();
  logger.setLogLevel("SILENT");
  return () => logger.setLogLevel(level);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
