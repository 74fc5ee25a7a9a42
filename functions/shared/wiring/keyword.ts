import { OpenSearchKeywordIndex } from "../../adapters/opensearch/opensearch-keyword-index";
import type { SimilarMessages } from "../../core/gaps/ports";
import { legVersion } from "../../core/message-context";
import type { KeywordIndexUpkeep, KeywordSearch, ReconcilableKeywordIndex } from "../../core/ports";
import { openSearchClient } from "../clients/opensearch";
import type { Config } from "../config";
import { logger } from "../logger";
import { Part } from "./part";

export interface KeywordPorts {
  /**
   * The keyword index, as the ports it serves (writes, the BM25 leg, more_like_this, upkeep). It
   * does not create the index: writes create it with its mapping (ensureIndex), search treats a
   * missing index as empty, and read-only commands (verify, reconcile --dry-run) check exists()
   * instead of creating one.
   */
  keywordIndex(): KeywordIndexPorts;
}

/** Everything the keyword index is asked: writes and their walk, the BM25 leg, more_like_this, upkeep. */
type KeywordIndexPorts = ReconcilableKeywordIndex & KeywordSearch & SimilarMessages & KeywordIndexUpkeep;

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
