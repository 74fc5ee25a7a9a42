import { ensureModel } from "../../local/stack/model";
import { databaseUrl, ensureDatabase } from "../../local/stack/postgres";
import { up } from "../../local/stack/stack";
import { MODELS_UNDER_TEST } from "./models";

/** The integration suite's database; per-file databases (test-db.ts) live beside it. */
export const TEST_DATABASE = "trisearch_test";

/**
 * Vitest globalSetup for the integration project: brings the real stack up (reusing what
 * already runs) and points the workers at the test database. A service that cannot start
 * throws here, so the suite fails with the reason instead of skipping.
 * No teardown: the services keep running for the next run and for `npm start`.
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  // The k-NN node too: the vector store contract runs against both adapters.
  const rows = await up({ log: (line) => console.log(`[stack] ${line}`), knn: true });
  // Every model a test loads, not only the configured one `up` fetched; one at a time, here, so
  // no two test files download or extract the same jar at once.
  for (const model of MODELS_UNDER_TEST)
    await ensureModel((line) => console.log(`[stack] ${line}`), model, `.cache/models/${model}`);
  await ensureDatabase(TEST_DATABASE);
  // Workers are forked after globalSetup and inherit this environment; config() parses it there.
  process.env["DATABASE_URL"] = databaseUrl(TEST_DATABASE);
  const summary = rows.map((r) => `${r.service} ${r.version}${r.startedByUs ? " (ours)" : ""}`).join(", ");
  console.log(`[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary}`);
}
