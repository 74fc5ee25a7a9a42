import { ingestMessages } from "../../functions/core/ingest";
import { parseIngestRequest } from "../../functions/core/ingest-request";
import { closeClients } from "../../functions/shared/clients";
import { createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { parseFlags } from "../args";

export const summary = "Load the demo messages (#platform, #auth-team, #mobile, #billing)";

/** Ingests the demo set through the normal use case (idempotent: a re-run reports "unchanged"). */
export async function seedDemo(c = createContainer()) {
  const request = parseIngestRequest({ source: DEMO_SOURCE, messages: DEMO_MESSAGES });
  return ingestMessages(
    { store: c.store, outbox: c.store, publisher: c.publisher, warn: c.warn, access: c.access },
    request.source,
    request.messages,
    request.visibility,
  );
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {},
    "Usage: trisearch seed\n\nIngests the demo data set; the running workers (npm start) index it.",
  );
  if (!flags) return 0;
  try {
    const outcomes = await seedDemo();
    const count = (status: string) => outcomes.filter((o) => o.status === status).length;
    console.log(
      `Demo set: ${outcomes.length} messages (created ${count("created")}, updated ${count("updated")}, unchanged ${count("unchanged")}).`,
    );
    return 0;
  } finally {
    await closeClients();
  }
}
