import type { KeywordSearch, SemanticLeg } from "../ports";
import { hasModifiers, type NotApplied } from "../search/modifiers";
import { readerView } from "../search/reader-view";
import {
  type SearchDeps,
  type SearchResult,
  type SearchSettings,
  searchMessages,
} from "../search/search-messages";
import type { SearchRequest } from "../search/search-request";
import { withMentionsRendered } from "../slack/slack-mentions";
import type { MentionNames } from "./directory";
import { type AppliedModifiers, matchesNothing, resolveModifiers } from "./modifier-filters";
import { type NameDirectory, resolveNamedFilters } from "./named-filters";

export interface NamedSearchResult extends SearchResult {
  /** The modifiers in `q` that became filters; absent when `q` had none. */
  readonly applied?: AppliedModifiers;
  /** Modifiers that could not be used, with the reason. */
  readonly notApplied: readonly NotApplied[];
}

/**
 * Search with filters written as names (`channel=#general`, `author=@alice`, and the modifiers in
 * `q`: `in:#general`, `from:@alice`): the names are resolved through the directory once, then
 * every leg (BM25, semantic, and the PostgreSQL checks of the semantic leg) filters on the ids the
 * messages carry. The request keeps the names as typed, so a next_cursor stays bound to what the
 * caller sent.
 */
export async function searchWithNames(
  deps: SearchDeps & { readonly names: NameDirectory; readonly mentions?: MentionNames },
  req: SearchRequest,
  settings: SearchSettings,
): Promise<NamedSearchResult> {
  const [plain, mods] = await Promise.all([
    resolveNamedFilters(deps.names, req.filters),
    resolveModifiers(deps.names, req.modifiers, req.filters.sources),
  ]);
  const resolve = (f: Parameters<typeof plain>[0]) => mods.apply(plain(f));
  const echo = {
    ...(hasModifiers(req.modifiers) || mods.notApplied.length > 0 || req.notApplied.length > 0
      ? { applied: mods.applied }
      : {}),
    notApplied: [...req.notApplied, ...mods.notApplied],
  };
  // A DM with someone who has none, or an in: beside a channel filter it excludes: nothing to search.
  if (matchesNothing(resolve(req.filters))) {
    return {
      strategy: req.strategy,
      tookMs: 0,
      hits: [],
      nextCursor: null,
      degraded: [],
      staleHits: 0,
      ...echo,
    };
  }
  const inner = deps.keyword;
  const keyword: KeywordSearch = {
    search: (query, filters, size) => inner.search(query, resolve(filters), size),
  };
  const semantic = async (): Promise<SemanticLeg> => {
    const leg = await deps.semantic();
    return {
      embedder: leg.embedder,
      vector: { query: (embedding, filters, limit) => leg.vector.query(embedding, resolve(filters), limit) },
    };
  };
  // Shown with today's names (the stored text keeps the markup), before snippets are cut from them.
  const { mentions } = deps;
  const messages = mentions
    ? readerView(deps.messages, async (rows) => {
        const shown = await withMentionsRendered(mentions, [...rows.values()]);
        return new Map(shown.map((m) => [m.id, m]));
      })
    : deps.messages;
  return { ...(await searchMessages({ ...deps, keyword, semantic, messages }, req, settings)), ...echo };
}
