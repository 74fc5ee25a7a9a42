import { OpenSearchKeywordIndex } from "../../adapters/opensearch/opensearch-keyword-index";
import { legVersion } from "../../core/message-context";
import { openSearchClient } from "../clients/opensearch";
import type { Config } from "../config";
import { logger } from "../logger";
import { Part } from "./part";

export interface KeywordPorts {
  /**
   * The keyword index adapter. It does not create the index: writes create it with its mapping
   * (OpenSearchKeywordIndex.ensureIndex), search treats a missing index as empty, and read-only
   * commands (verify, reconcile --dry-run) check exists() instead of creating one.
   */
  keywordIndex(): OpenSearchKeywordIndex;
}

export function createKeywordPorts(cfg: Config): KeywordPorts {
  let keywordIndex: OpenSearchKeywordIndex | undefined;
  return {
    keywordIndex() {
      keywordIndex ??= new OpenSearchKeywordIndex(openSearchClient(cfg), cfg.OPENSEARCH_INDEX, {
        warn: (message, err) => logger.warn(message, { error: err as Error }),
        contextVersion: legVersion(cfg.contextPolicy.keyword, cfg.contextPolicy.windowMinutes),
        contextBoost: cfg.CONTEXT_KEYWORD_BOOST,
      });
      return keywordIndex;
    },
  };
}

export const keywordPart = new Part(createKeywordPorts);
export const keyword = (): KeywordPorts => keywordPart.get();
