import { searchInScope } from "../core/access/scoped-search";
import type { NamedSearchResult } from "../core/directory/search-with-names";
import type { SearchRequest } from "../core/search/search-request";
import type { Container } from "./container";
import { logger } from "./logger";

/** The search use case wired to a container's stores: what GET|POST /search and /trisearch run. */
export function searchService(c: Container): (request: SearchRequest) => Promise<NamedSearchResult> {
  return (request) =>
    searchInScope(
      {
        // Filters written as names resolve through the directory; mentions are shown with names.
        names: c.directory,
        mentions: c.directory,
        // The viewer's conversations, read per search: a membership change applies at once.
        visibility: c.access,
        keyword: c.keywordIndex(),
        // The active collection and its model: during a model switch, the old one until the new one is complete.
        semantic: () => c.collections.semanticLeg(),
        messages: c.store,
        threads: c.threads,
        onStaleHits: (_leg, ids) =>
          logger.warn("search hits without a live row", { count: ids.length, ids: ids.slice(0, 20) }),
        onLegFailure: (leg, err) => logger.error("search leg failed", { leg, code: err.code, error: err }),
        onHighlightFailure: (what, err) => logger.warn("snippet fell back to lexical", { what, error: err }),
        // Who searched and how wide their scope was; never the query text.
        // (The logger drops null fields: unscoped is written out.)
        onAudit: (audit) =>
          logger.info("search audit", {
            ...audit,
            viewer: audit.viewer ?? "(unscoped)",
            conversations: audit.conversations ?? "all",
          }),
      },
      request,
      {
        rrfK: c.config.SEARCH_RRF_K,
        cursorKey: c.cursorKey,
        weights: { bm25: c.config.SEARCH_BM25_WEIGHT, semantic: c.config.SEARCH_SEMANTIC_WEIGHT },
        fusion: c.config.SEARCH_FUSION,
        ...(c.config.SEARCH_LEG_WINDOW ? { window: c.config.SEARCH_LEG_WINDOW } : {}),
      },
    );
}
