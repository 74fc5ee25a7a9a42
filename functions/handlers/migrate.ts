import middy from "@middy/core";
import { logger } from "../shared/logger";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { applyMigrations } from "../shared/migrations";

/**
 * Invoked by a CloudFormation custom resource (CDK Trigger, lib/database.ts) on deploy; throwing
 * fails the deploy. The SQL files travel next to index.mjs in the bundle (see MIGRATIONS_DIR).
 */
export const handler = middy(async () => {
  const applied = await applyMigrations(undefined, (msg) => logger.debug(msg));
  logger.info("migrations applied", { applied });
  return { applied };
})
  .use(lambdaLogContext())
  .use(invocationMetrics());
