import middy from "@middy/core";
import { migrateUp } from "../adapters/postgres/migrate";
import { config } from "../shared/config";
import { logger } from "../shared/logger";

/**
 * Invoked by a CloudFormation custom resource (CDK Trigger, lib/database.ts) on deploy; throwing
 * fails the deploy. The SQL files travel next to index.mjs in the bundle (see MIGRATIONS_DIR).
 */
export const handler = middy(async () => {
  const applied = await migrateUp(config().DATABASE_URL, (msg) => logger.debug(msg));
  logger.info("migrations applied", { applied });
  return { applied };
});
