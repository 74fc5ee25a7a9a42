import { migrateUp } from "../../functions/adapters/postgres/migrate";
import { config } from "../../functions/shared/config";
import { parseFlags } from "../args";

export const summary = "Apply pending PostgreSQL migrations (node-pg-migrate)";

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {},
    "Usage: trisearch migrate\n\nApplies every pending migration in migrations/ to DATABASE_URL.",
  );
  if (!flags) return 0;
  const applied = await migrateUp(config().DATABASE_URL);
  console.log(applied.length > 0 ? `Applied: ${applied.join(", ")}` : "Schema is up to date.");
  return 0;
}
