import type { Config } from "../config";
import { resolveCursorSecret } from "../cursor-secret";
import { logger } from "../logger";
import { Part } from "./part";

export interface RuntimePorts {
  readonly config: Config;
  /** The key search cursors are signed with (cursor-secret.ts). */
  readonly cursorKey: string;
  readonly warn: (message: string, err: unknown) => void;
}

export function createRuntimePorts(cfg: Config): RuntimePorts {
  let cursorKey: string | undefined;
  return {
    config: cfg,
    get cursorKey() {
      cursorKey ??= resolveCursorSecret({ ...cfg, inLambda: cfg.AWS_LAMBDA_FUNCTION_NAME !== undefined });
      return cursorKey;
    },
    warn: (message, err) => logger.warn(message, { error: err as Error }),
  };
}

export const runtimePart = new Part(createRuntimePorts);
export const runtime = (): RuntimePorts => runtimePart.get();
