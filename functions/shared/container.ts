import { type Config, config } from "./config";
import { createImportPorts, type ImportPorts, importsPart } from "./wiring/imports";
import { createKeywordPorts, type KeywordPorts, keywordPart } from "./wiring/keyword";
import { createPgPorts, type PgPorts, postgresPart } from "./wiring/postgres";
import { createQueuePorts, type QueuePorts, queuesPart } from "./wiring/queues";
import { createReplyPorts, type ReplyPorts, repliesPart } from "./wiring/replies";
import { createRuntimePorts, type RuntimePorts, runtimePart } from "./wiring/runtime";
import { createSlackPorts, type SlackPorts, slackPart } from "./wiring/slack";
import { createVectorPorts, type VectorPorts, vectorsPart } from "./wiring/vectors";

/**
 * The one place ports meet adapters. The wiring is kept per group of ports in wiring/ (queues,
 * postgres, keyword, vectors, slack, replies, imports, runtime), each built on first use and kept
 * for the life of the container, so swapping a store is one adapter plus one line there. A
 * Container is all of them; a handler that needs only some reads those parts (`queues()`,
 * `postgres()`) and its bundle carries only their drivers (README "Bundle sizes").
 */
export type Container = RuntimePorts &
  QueuePorts &
  PgPorts &
  KeywordPorts &
  VectorPorts &
  SlackPorts &
  ReplyPorts &
  ImportPorts;

/** Copies each part's getters (not their values): the container stays lazy. */
function compose<T extends object>(...parts: object[]): T {
  const out = {};
  for (const part of parts) Object.defineProperties(out, Object.getOwnPropertyDescriptors(part));
  return out as T;
}

export function createContainer(cfg: Config = config()): Container {
  const pg = createPgPorts(cfg);
  return compose<Container>(
    createRuntimePorts(cfg),
    createQueuePorts(cfg),
    pg,
    createKeywordPorts(cfg),
    createVectorPorts(cfg, () => pg.messageFilter),
    createSlackPorts(cfg),
    createReplyPorts(cfg),
    createImportPorts(cfg),
  );
}

let current: Container | undefined;

export function container(): Container {
  if (current) return current;
  const c = createContainer();
  setContainer(c);
  return c;
}

/** The local runtime and tests wire a container for another config (e.g. the test database). */
export function setContainer(next: Container | undefined): void {
  current = next;
  // Every part answers from this container (or, unset, builds its own for the process config).
  runtimePart.bind(next);
  queuesPart.bind(next);
  postgresPart.bind(next);
  keywordPart.bind(next);
  vectorsPart.bind(next);
  slackPart.bind(next);
  repliesPart.bind(next);
  importsPart.bind(next);
}
