import type { MentionNames } from "../directory/directory";
import type { NameDirectory } from "../directory/named-filters";
import { type NamedSearchResult, searchWithNames } from "../directory/search-with-names";
import { AppError } from "../errors";
import type { SearchFilters } from "../model";
import type { EnrichedMessage, KeywordSearch, SemanticLeg } from "../ports";
import { readerView } from "../search/reader-view";
import type { SearchDeps, SearchSettings } from "../search/search-messages";
import type { SearchRequest } from "../search/search-request";
import { type ConversationScope, resolveScope, type VisibilityReader } from "./access";

/** One search, as the audit log records it: who, how many conversations, never the query text. */
export interface SearchAudit {
  /** The viewer; null in the unscoped admin mode. */
  readonly viewer: string | null;
  /** Conversations in the viewer's scope; null when unscoped. */
  readonly conversations: number | null;
  readonly strategy: SearchRequest["strategy"];
  readonly results: number;
}

/**
 * The legs and the reader of a search, narrowed to what the scope may read: each leg gets the
 * visible conversations as its channel filter (intersected with the caller's own), so the filter
 * runs inside the leg and pages stay full; enrichment keeps only rows of visible conversations.
 */
function scopeSearchDeps(deps: SearchDeps, scope: ConversationScope): SearchDeps {
  const narrow = (filters: SearchFilters): SearchFilters | null => {
    const channels = scope.narrow(filters.channels);
    return channels ? { ...filters, channels } : null;
  };
  const keyword: KeywordSearch = {
    search: async (query, filters, size) => {
      const scoped = narrow(filters);
      return scoped ? deps.keyword.search(query, scoped, size) : [];
    },
    // Highlights only the page's hits, which the scoped legs and reader already let through.
  };
  const semantic = async (): Promise<SemanticLeg> => {
    const leg = await deps.semantic();
    return {
      embedder: leg.embedder,
      vector: {
        query: async (embedding, filters, limit) => {
          const scoped = narrow(filters);
          return scoped ? leg.vector.query(embedding, scoped, limit) : [];
        },
      },
    };
  };
  const messages = readerView(deps.messages, (rows) => {
    const visible = new Map<number, EnrichedMessage>();
    for (const [id, row] of rows) if (scope.allows(row.source, row.channel)) visible.set(id, row);
    return visible;
  });
  return { ...deps, keyword, semantic, messages };
}

/**
 * Names resolve only to conversations in scope: `channel=#secret` or `in:#secret` from someone
 * outside it matches no conversation, exactly as a name that does not exist (no 400 listing a
 * private channel's id, no hint that it exists). People's names are not hidden.
 */
function scopedNames(names: NameDirectory, scope: ConversationScope): NameDirectory {
  return {
    matchNames: async (kind, values, sources) => {
      const matches = await names.matchNames(kind, values, sources);
      if (kind !== "conversation") return matches;
      return matches.map((m) => ({
        ...m,
        candidates: m.candidates.filter((c) => scope.includesChannel(c.id)),
        // A literal value messages carry is a channel id itself: in scope or not, like any id.
        literal: m.literal && scope.includesChannel(m.value),
      }));
    },
    // `in:@person`: the DMs with them that the viewer may read (their own, in practice).
    directMessageChannels: async (userIds, sources) =>
      (await names.directMessageChannels(userIds, sources)).filter((c) => scope.includesChannel(c)),
  };
}

/**
 * The search use case as every entry point runs it (GET|POST /search, /trisearch): the request's
 * access decides the scope, resolved now (a membership change applies to the next search), then
 * names resolve and the legs run inside the scope. Audited once per search.
 */
export async function searchInScope(
  deps: SearchDeps & {
    readonly names: NameDirectory;
    readonly mentions?: MentionNames;
    readonly visibility: VisibilityReader;
    readonly onAudit?: (audit: SearchAudit) => void;
  },
  req: SearchRequest,
  settings: SearchSettings,
): Promise<NamedSearchResult> {
  if (!req.access) throw new AppError("internal_error", "a search ran without deciding whom it runs for");
  const scope = await resolveScope(deps.visibility, req.access);
  const result = await searchWithNames(
    scope ? { ...deps, ...scopeSearchDeps(deps, scope), names: scopedNames(deps.names, scope) } : deps,
    req,
    settings,
  );
  deps.onAudit?.({
    viewer: scope?.viewer ?? null,
    conversations: scope?.size ?? null,
    strategy: req.strategy,
    results: result.hits.length,
  });
  return result;
}
