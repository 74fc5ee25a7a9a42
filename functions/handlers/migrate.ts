import middy from "@middy/core";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { applyMigrations } from "../shared/migrations";

/**
 * Invoked by a CloudFormation custom resource (CDK Trigger, lib/database.ts) on deploy; throwing
 * fails the deploy. The SQL files travel next to index.mjs in the bundle (see MIGRATIONS_DIR).
 */
export const handler = middy(async () => {
  const { applied, logins } = await applyMigrations(undefined, (msg) => logger.debug(msg));
  logger.info("migrations applied", { applied, logins });
  return { applied, logins };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
