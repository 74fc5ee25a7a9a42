import { SqsEventQueue } from "../../adapters/sqs/sqs-event-queue";
import { SqsJobPublisher } from "../../adapters/sqs/sqs-job-publisher";
import type { EventQueue, JobPublisher } from "../../core/ports";
import { sqsClient } from "../clients/sqs";
import { type Config, queueUrl } from "../config";
import { Part } from "./part";

/** The SQS queues: index jobs out (publisher), Slack events, imports, slash commands and replies. */
export interface QueuePorts {
  readonly publisher: JobPublisher;
  /** The ingest queue (Slack events in, the ingest consumer out). */
  readonly ingestQueue: EventQueue;
  /** The import queue a cut-short import continues through. */
  readonly importQueue: EventQueue;
  /** The slash command's search jobs (POST /slack/commands -> slack-command-search). */
  readonly commandsQueue: EventQueue;
  /** Finished slash command replies (slack-command-search -> slack-reply). */
  readonly repliesQueue: EventQueue;
}

export function createQueuePorts(cfg: Config): QueuePorts {
  let publisher: SqsJobPublisher | undefined;
  const queues = new Map<"ingest" | "import" | "commands" | "replies", SqsEventQueue>();
  const queue = (name: "ingest" | "import" | "commands" | "replies") => {
    let q = queues.get(name);
    if (!q) {
      q = new SqsEventQueue(sqsClient(cfg), queueUrl(cfg, name));
      queues.set(name, q);
    }
    return q;
  };
  return {
    get publisher() {
      publisher ??= new SqsJobPublisher(
        sqsClient(cfg),
        { keyword: queueUrl(cfg, "keyword"), vector: queueUrl(cfg, "vector") },
        cfg.JOBS_PER_MESSAGE,
      );
      return publisher;
    },
    get ingestQueue() {
      return queue("ingest");
    },
    get importQueue() {
      return queue("import");
    },
    get commandsQueue() {
      return queue("commands");
    },
    get repliesQueue() {
      return queue("replies");
    },
  };
}

export const queuesPart = new Part(createQueuePorts);
export const queues = (): QueuePorts => queuesPart.get();
