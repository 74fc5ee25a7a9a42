import middy from "@middy/core";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { applyMigrations } from "../shared/migrations";

/**
 * Up to 4 of the function's 5 minutes waiting for the database: on a first deploy RDS Proxy's
 * target may still be registering when the trigger fires.
 */
const WAIT_FOR_DATABASE_MS = 240_000;

/**
 * Invoked by a CloudFormation custom resource (CDK Trigger, lib/database.ts) on deploy; throwing
 * fails the deploy. The SQL files travel next to index.mjs in the bundle (see MIGRATIONS_DIR).
 */
export const handler = middy(async () => {
  const { applied, logins } = await applyMigrations(undefined, (msg) => logger.debug(msg), {
    waitForDatabaseMs: WAIT_FOR_DATABASE_MS,
  });
  logger.info("migrations applied", { applied, logins });
  return { applied, logins };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
