import { down, formatTable, StackError, status, up } from "../../local/stack/stack";
import { parseFlags } from "../args";

export const summary = "Local services without Docker: stack up | down | status";

const HELP = `Usage: trisearch stack <up|down|status> [--knn]

  up      Reuse each service already healthy on its port; otherwise download it (Maven
          Central / npm, into CACHE_DIR), start it detached and wait until it is healthy.
          Also creates the database, the SQS queues and fetches the embedding model.
  down    Stop only the services that "stack up" started (reused ones keep running).
  status  Probe the services and print the table; starts nothing.

  --knn   up: also the k-NN node (OpenSearch 2.19.1 with the k-NN plugin, OPENSEARCH_VECTOR_URL),
          which VECTOR_STORE=opensearch stores vectors in; implied by VECTOR_STORE=opensearch.

Services: PostgreSQL (DATABASE_URL), OpenSearch 2.19.6 (OPENSEARCH_URL), ElasticMQ
(SQS_ENDPOINT), Chroma 1.0 (CHROMA_URL), the ONNX_MODEL (ONNX_MODEL_DIR).
Logs: CACHE_DIR/logs/<service>.log; what we started: CACHE_DIR/stack-state.json.`;

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(args, { knn: { type: "boolean" } }, HELP);
  if (!flags) return 0;
  const [action] = flags.positionals;
  const log = (line: string) => console.error(line);
  try {
    switch (action) {
      case "up": {
        const started = Date.now();
        const rows = await up({ log, knn: flags.values["knn"] === true });
        console.log(formatTable(rows));
        console.error(`stack up: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return 0;
      }
      case "down": {
        const stopped = await down({ log });
        console.log(
          stopped.length > 0 ? `Stopped: ${stopped.join(", ")}` : "Nothing started by us is running.",
        );
        return 0;
      }
      case "status": {
        const rows = await status();
        console.log(formatTable(rows));
        return rows.every((r) => r.state === "running" || r.state === "ready") ? 0 : 1;
      }
      default:
        console.error(HELP);
        return 2;
    }
  } catch (err) {
    if (err instanceof StackError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
