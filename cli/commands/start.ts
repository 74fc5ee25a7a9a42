import { OnnxEmbedder } from "../../functions/adapters/onnx/onnx-embedder";
import { migrateUp } from "../../functions/adapters/postgres/migrate";
import { closeClients, sqsClient } from "../../functions/shared/clients";
import { loadConfig, setConfig } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import { startLocalApp } from "../../local/app";
import { ensureQueues, formatTable, up } from "../../local/stack/stack";
import { parseFlags } from "../args";
import { seedDemo } from "./seed";

export const summary = "Start the local stack and the API on :3000 with workers (npm start)";

const HELP = `Usage: trisearch start [--no-seed] [--no-stack]

Brings the local stack up (see \`trisearch stack\`), applies migrations, creates the queues,
seeds the demo messages into an empty database, then serves the API on API_PORT (3000) and
runs the SQS workers and schedules until Ctrl-C.

  --no-stack  Do not probe or start services: use DATABASE_URL, OPENSEARCH_URL, SQS_ENDPOINT
              and CHROMA_URL as they are (docker-compose runs them as other services).`;

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(args, { "no-seed": { type: "boolean" }, "no-stack": { type: "boolean" } }, HELP);
  if (!flags) return 0;
  const started = Date.now();
  // Locally a search without a viewer reads everything (the README's first examples), unless the
  // environment says otherwise; the CDK stack refuses it unless its context flag turns it on.
  const cfg = loadConfig({ SEARCH_ALLOW_UNSCOPED: "true", ...process.env });
  setConfig(cfg);
  if (!flags.values["no-stack"]) {
    const rows = await up({ log: (line) => console.error(line) });
    console.log(formatTable(rows));
  }
  await migrateUp(cfg.DATABASE_URL);
  await ensureQueues(sqsClient(cfg), cfg.QUEUE_PREFIX);
  const app = await startLocalApp({ config: cfg });
  const c = createContainer(cfg);
  if (!flags.values["no-seed"] && (await c.store.countLive()) === 0) {
    const outcomes = await seedDemo(c);
    console.log(`Seeded ${outcomes.length} demo messages; the workers are indexing them.`);
  } else {
    // The indexes may have been reset (a fresh cache, a service restarted empty) while PostgreSQL
    // kept its rows: reconcile now rather than at the first scheduled run.
    app.schedules.reconcile.runOnce().then(
      () => console.log("Startup reconcile done: both indexes are being brought in line with PostgreSQL."),
      (err: unknown) => console.error(`Startup reconcile failed: ${(err as Error).message}`),
    );
  }
  // Bound to all interfaces (a container): show the address a client on this host uses.
  const url = app.url.replace("//0.0.0.0:", "//127.0.0.1:");
  console.log(
    `Trisearch API on ${url} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s). Ctrl-C stops.`,
  );
  console.log(`  curl '${url}/search?q=users+can%27t+login'`);
  console.log(
    cfg.SEARCH_ALLOW_UNSCOPED
      ? '  Unscoped search is on (SEARCH_ALLOW_UNSCOPED=true): a search without viewer= reads every conversation (an admin tool; README "Permissions").'
      : "  Searches need a viewer (viewer=<user id>): SEARCH_ALLOW_UNSCOPED=false.",
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  console.log("Stopping the API and workers (services keep running; `npx trisearch stack down` stops them).");
  try {
    await app.stop();
  } finally {
    // Idle pg connections would otherwise hold the process for their 10-s idle timeout.
    await Promise.all([closeClients(), OnnxEmbedder.closeAll()]);
  }
  return 0;
}
