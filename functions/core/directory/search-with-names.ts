import type { KeywordSearch, SemanticLeg } from "../ports";
import {
  type SearchDeps,
  type SearchResult,
  type SearchSettings,
  searchMessages,
} from "../search/search-messages";
import type { SearchRequest } from "../search/search-request";
import { withMentionsRendered } from "../slack/slack-mentions";
import type { MentionNames } from "./directory";
import { type NameDirectory, resolveNamedFilters } from "./named-filters";

/**
 * Search with filters written as names (`channel=#general`, `author=@alice`): the names are
 * resolved through the directory once, then every leg (BM25, semantic, and the PostgreSQL checks
 * of the semantic leg) filters on the ids the messages carry. The request keeps the names as
 * typed, so a next_cursor stays bound to what the caller sent.
 */
export async function searchWithNames(
  deps: SearchDeps & { readonly names: NameDirectory; readonly mentions?: MentionNames },
  req: SearchRequest,
  settings: SearchSettings,
): Promise<SearchResult> {
  const resolve = await resolveNamedFilters(deps.names, req.filters);
  const keyword: KeywordSearch = {
    search: (query, filters, size) => deps.keyword.search(query, resolve(filters), size),
  };
  const semantic = async (): Promise<SemanticLeg> => {
    const leg = await deps.semantic();
    return {
      embedder: leg.embedder,
      vector: { query: (embedding, filters, limit) => leg.vector.query(embedding, resolve(filters), limit) },
    };
  };
  const result = await searchMessages({ ...deps, keyword, semantic }, req, settings);
  if (!deps.mentions) return result;
  // Shown with today's names; the stored text keeps the markup.
  const shown = await withMentionsRendered(
    deps.mentions,
    result.hits.map((h) => h.message),
  );
  return { ...result, hits: result.hits.map((h, i) => ({ ...h, message: shown[i]! })) };
}
