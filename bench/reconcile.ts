import "./quiet-env";
import { appendFile, readFile } from "node:fs/promises";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import type { StoredMessage } from "../functions/core/model";
import type { VectorCollection } from "../functions/core/ports";
import { driftTotal, type ReconcileReport } from "../functions/core/reconcile";
import { setConfig } from "../functions/shared/config";
import { createContainer } from "../functions/shared/container";
import { runReconcile } from "../functions/shared/reconcile-runner";
import {
  BENCH_DIR,
  createBenchNamespace,
  loadAverage,
  numberFlag,
  round2,
  withNamespace,
  writeReport,
} from "./helpers";

/**
 * Reconcile over N messages that are all in sync (the steady state the schedule sees):
 *   npx tsx bench/reconcile.ts [--messages 100000] [--page-size 1000]
 *
 * Loads the three stores directly (SQL generate_series; OpenSearch `_bulk` and Chroma upserts
 * through the adapters with cheap deterministic vectors of the configured dimension: this measures
 * reconciliation, not embedding), then times a dry-run full pass, a real full pass and one
 * scheduled (page-budget) run. Everything lives in a private namespace that is removed afterwards.
 * Writes bench/reports/reconcile.json and appends a line to bench/README.md.
 */

/** The budget stated in bench/README.md for one full pass over 100,000 in-sync messages. */
export const BUDGET_SECONDS = 120;

const args = process.argv.slice(2);
const messages = numberFlag(args, "messages", 100_000);
const pageSize = numberFlag(args, "page-size", 1000);

function vectorFor(id: number, dimension: number): number[] {
  const v = new Array<number>(dimension);
  for (let j = 0; j < dimension; j++) v[j] = ((id * 31 + j * 17) % 97) / 97 - 0.5;
  return v;
}

async function timed<T>(what: string, work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await work();
  const seconds = round2((performance.now() - started) / 1000);
  console.log(`${what}: ${seconds} s`);
  return { value, seconds };
}

function assertClean(what: string, r: ReconcileReport): void {
  if (driftTotal(r) !== 0 || !r.passComplete) {
    throw new Error(`${what}: expected a complete pass with zero drift, got ${JSON.stringify(r)}`);
  }
  if (r.keyword.checked !== messages || r.vector.checked !== messages) {
    throw new Error(`${what}: checked ${r.keyword.checked}/${r.vector.checked} of ${messages}`);
  }
}

async function main(): Promise<void> {
  const ns = await createBenchNamespace("reconcile");
  await withNamespace(ns, async ({ config, db }) => {
    setConfig(config);
    const c = createContainer(config);
    const model = { modelId: c.embedder.modelId, dimension: c.embedder.dimension };

    const load = await timed(`load ${messages} messages into PostgreSQL, OpenSearch and Chroma`, async () => {
      await db.pool.query("INSERT INTO sources (type, name) VALUES ('app', 'bench')");
      await db.pool.query(
        `INSERT INTO messages (source_id, external_id, content, author, channel, "timestamp", content_hash,
                               keyword_version, vector_version, vector_model, embedding_id)
         SELECT 1, 'b-' || i, 'Bench message ' || i || ' about the ' || (ARRAY['auth','billing','search','mobile'])[1 + i % 4],
                'dev' || (i % 12) || '@company.com', '#c' || (i % 8), timestamp '2025-12-01' + i * interval '1 second',
                md5(i::text), 1, 1, $2, 'msg_' || i
         FROM generate_series(1, $1) AS i`,
        [messages, model.modelId],
      );
      const keyword = c.keywordIndex();
      const vectors: VectorCollection = await c.collections.writeIndex();
      const store = c.reconcileStore;
      let afterId = 0;
      for (;;) {
        const rows: StoredMessage[] = await store.listRows(afterId, 5000);
        if (rows.length === 0) break;
        afterId = rows.at(-1)!.id;
        const [outcomes] = await Promise.all([
          keyword.upsert(rows),
          vectors.upsert(
            rows.map((message) => ({ message, embedding: vectorFor(message.id, model.dimension) })),
          ),
        ]);
        const failed = outcomes.filter((o) => !o.ok);
        if (failed.length > 0) throw new Error(`bulk failed: ${failed[0]?.error}`);
        process.stderr.write(`\rloaded ${afterId}/${messages}`);
      }
      process.stderr.write("\n");
      await keyword.refresh();
      const [kc, vc] = [await keyword.count(), await vectors.count()];
      if (kc !== messages || vc !== messages)
        throw new Error(`loaded ${kc} docs and ${vc} vectors, expected ${messages}`);
    });

    const full = Number.POSITIVE_INFINITY;
    const dry = await timed("dry-run full pass", () =>
      runReconcile(c, { dryRun: true, maxPages: full, pageSize }),
    );
    assertClean("dry run", dry.value);
    const real = await timed("real full pass (restart, unbounded)", () =>
      runReconcile(c, { restart: true, maxPages: full, pageSize }),
    );
    assertClean("real run", real.value);
    const scheduled = await timed(`one scheduled run (${config.RECONCILE_MAX_PAGES} pages)`, () =>
      runReconcile(c, { pageSize }),
    );
    if (driftTotal(scheduled.value) !== 0) throw new Error("scheduled run found drift");

    const idPages = Math.ceil(messages / pageSize);
    const report = {
      benchmark: "reconcile",
      messages,
      pageSize,
      budgetSeconds: BUDGET_SECONDS,
      withinBudget: real.seconds <= BUDGET_SECONDS && dry.seconds <= BUDGET_SECONDS,
      loadSeconds: load.seconds,
      dryRunFullPass: { seconds: dry.seconds, pages: dry.value.pagesRead, durationMs: dry.value.durationMs },
      realFullPass: { seconds: real.seconds, pages: real.value.pagesRead, durationMs: real.value.durationMs },
      scheduledRun: {
        seconds: scheduled.seconds,
        pages: scheduled.value.pagesRead,
        maxPages: config.RECONCILE_MAX_PAGES,
        messagesCovered: Math.min(messages, Math.ceil(scheduled.value.pagesRead / 2) * pageSize),
      },
      msPerIdPage: round2((real.seconds * 1000) / idPages),
      messagesPerSecond: Math.round(messages / real.seconds),
      machine: { host: hostname(), cpus: cpus().length, node: process.version, load: loadAverage() },
      model,
      at: new Date().toISOString(),
    };
    const path = await writeReport("reconcile", report);
    console.log(`wrote ${path}`);
    await appendReadme(report.withinBudget, dry.seconds, real.seconds, scheduled.seconds);
  });
}

async function appendReadme(ok: boolean, dry: number, real: number, scheduled: number): Promise<void> {
  const readme = join(BENCH_DIR, "README.md");
  const existing = await readFile(readme, "utf8").catch(() => "");
  const header = existing.includes("## reconcile")
    ? ""
    : `${existing ? "\n" : "# Benchmarks\n\n"}## reconcile\n\n` +
      "`npx tsx bench/reconcile.ts` — one full reconcile pass over 100,000 in-sync messages " +
      "(PostgreSQL x OpenSearch x Chroma, pages of 1000). " +
      `Budget: **< ${BUDGET_SECONDS} s on this 2-core machine** for a full pass (dry run and real). ` +
      "Report: `reports/reconcile.json`.\n\n";
  const line =
    `- ${new Date().toISOString().slice(0, 10)}: ${messages} messages, full pass dry-run ${dry} s, ` +
    `real ${real} s, one scheduled run (${Math.round(scheduled * 100) / 100} s), ` +
    `load avg ${loadAverage()["1m"]} — ${ok ? "within" : "OVER"} budget\n`;
  await appendFile(readme, header + line);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
