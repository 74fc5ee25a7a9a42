import type { SearchFilters } from "../../core/model";
import type { QueryNode } from "../../core/search/query-parser";
import { splitSourceFilters } from "../../core/search/search-request";

/**
 * Builds the OpenSearch request body for the BM25 leg from our query AST: plain DSL only, so
 * user input is never parsed by Lucene's query_string syntax.
 *
 * Index fields it expects (the index mapping must agree):
 * - `content`       text, English analyzer (terms and phrases are matched here)
 * - `channel`, `author`, `source` (source name), `source_type`   keyword
 * - `timestamp`     date
 * - `message_id`    long; the document `_id` is the message id too (tie-break sort key)
 * - `thread_id`, `mentions`, `features` keyword (`is:thread`, `to:`, `has:`; message-features.ts)
 *
 * Mapping of the AST:
 * - term      -> `match` on content, operator "and" (every token of the one word the user typed)
 * - phrase    -> `match_phrase` on content (English-analysed; still only matches as a phrase)
 * - AND       -> bool.must (negated clauses -> bool.must_not)
 * - OR / adjacency -> bool.should + minimum_should_match 1 (negated clauses -> bool.must_not)
 * - NOT / -x  -> bool.must_not
 * Filters go to the top-level bool.filter (no effect on scores).
 */

export type Dsl = Record<string, unknown>;

const CONTENT_FIELD = "content";
/** Message context (author, thread parent, preceding messages): found through, weighed less. */
const CONTEXT_FIELD = "context";
const TIE_BREAK_FIELD = "message_id";
/** Keyword fields the indexer fills from message-features.ts (`to:`, `has:`). */
export const MENTIONS_FIELD = "mentions";
export const FEATURES_FIELD = "features";

export interface KeywordQueryOptions {
  /** Hits to return (the leg window). */
  readonly size: number;
  readonly from?: number;
  /**
   * When set, positive terms and phrases also match the context field with this weight; negated
   * ones look at the content only (excluding a word must not exclude its neighbours' messages).
   */
  readonly contextBoost?: number;
}

export interface KeywordSearchBody {
  readonly size: number;
  readonly from?: number;
  readonly query: { readonly bool: { readonly must: Dsl[]; readonly filter: Dsl[] } };
  readonly sort: Dsl[];
  readonly track_total_hits: false;
  readonly _source: false;
  readonly stored_fields: "_none_";
}

/**
 * Where a leaf sits decides what a token-less leaf (only stopwords or punctuation, e.g. "the")
 * should do: inside an AND it must be neutral (match all), elsewhere it must match nothing, so
 * neither `the AND oauth` returns nothing nor `-the` excludes everything.
 */
type Occur = "must" | "other";

function fieldLeaf(field: string, node: { kind: "term" | "phrase"; text: string }, extra: Dsl): Dsl {
  if (node.kind === "phrase") return { match_phrase: { [field]: { query: node.text, ...extra } } };
  return { match: { [field]: { query: node.text, operator: "and", ...extra } } };
}

function leaf(node: { kind: "term" | "phrase"; text: string }, occur: Occur, contextBoost?: number): Dsl {
  const zeroTerms = occur === "must" ? { zero_terms_query: "all" } : {};
  const content = fieldLeaf(CONTENT_FIELD, node, zeroTerms);
  if (contextBoost === undefined || contextBoost <= 0) return content;
  // The words of the message, or of its context at a lower weight: BM25 sums both where both match.
  return {
    bool: {
      should: [content, fieldLeaf(CONTEXT_FIELD, node, { boost: contextBoost })],
      minimum_should_match: 1,
    },
  };
}

function compile(node: QueryNode, occur: Occur, contextBoost?: number): Dsl {
  switch (node.kind) {
    case "term":
    case "phrase":
      return leaf(node, occur, contextBoost);
    case "not":
      return { bool: { must_not: [compile(node.clause, "other")] } };
    case "and":
    case "or": {
      const positive = node.clauses.filter((c) => c.kind !== "not");
      const negated = node.clauses.flatMap((c) => (c.kind === "not" ? [c.clause] : []));
      const bool: Dsl = {};
      if (positive.length > 0) {
        if (node.kind === "and") bool["must"] = positive.map((c) => compile(c, "must", contextBoost));
        else {
          bool["should"] = positive.map((c) => compile(c, "other", contextBoost));
          bool["minimum_should_match"] = 1;
        }
      }
      if (negated.length > 0) bool["must_not"] = negated.map((c) => compile(c, "other"));
      return { bool };
    }
  }
}

/** The AST alone as an OpenSearch query (no filters); exported for tests and explain. */
export function compileQuery(ast: QueryNode, contextBoost?: number): Dsl {
  return compile(ast, "other", contextBoost);
}

/** Filter clauses for bool.filter: terms on keyword fields, a range on timestamp. */
export function buildFilterClauses(filters: SearchFilters): Dsl[] {
  const out: Dsl[] = [];
  if (filters.channels && filters.channels.length > 0)
    out.push({ terms: { channel: [...filters.channels] } });
  if (filters.authors && filters.authors.length > 0) out.push({ terms: { author: [...filters.authors] } });
  if (filters.sources && filters.sources.length > 0) {
    const { names, pairs } = splitSourceFilters(filters.sources);
    const alternatives: Dsl[] = [];
    if (names.length > 0) alternatives.push({ terms: { source: names } });
    for (const p of pairs) {
      alternatives.push({
        bool: { filter: [{ term: { source_type: p.type } }, { term: { source: p.name } }] },
      });
    }
    out.push(
      alternatives.length === 1
        ? alternatives[0]!
        : { bool: { should: alternatives, minimum_should_match: 1 } },
    );
  }
  const excluded: Dsl[] = [];
  if (filters.excludeChannels && filters.excludeChannels.length > 0)
    excluded.push({ terms: { channel: [...filters.excludeChannels] } });
  if (filters.excludeAuthors && filters.excludeAuthors.length > 0)
    excluded.push({ terms: { author: [...filters.excludeAuthors] } });
  if (excluded.length > 0) out.push({ bool: { must_not: excluded } });
  if (filters.mentions && filters.mentions.length > 0)
    out.push({ terms: { [MENTIONS_FIELD]: [...filters.mentions] } });
  for (const feature of filters.has ?? []) out.push({ term: { [FEATURES_FIELD]: feature } });
  if (filters.inThread) out.push({ exists: { field: "thread_id" } });
  if (filters.from || filters.to) {
    out.push({
      range: {
        timestamp: {
          ...(filters.from ? { gte: filters.from.toISOString() } : {}),
          ...(filters.to ? { lte: filters.to.toISOString() } : {}),
        },
      },
    });
  }
  return out;
}

/**
 * The search body for the BM25 leg: hits sorted by score, ties by message_id (deterministic
 * ranks, so paging a single leg deeper never reorders earlier hits). The adapter reads the score
 * and the message id from each hit's sort values.
 */
export function buildKeywordQuery(
  ast: QueryNode,
  filters: SearchFilters,
  opts: KeywordQueryOptions,
): KeywordSearchBody {
  return {
    size: opts.size,
    ...(opts.from !== undefined ? { from: opts.from } : {}),
    query: { bool: { must: [compileQuery(ast, opts.contextBoost)], filter: buildFilterClauses(filters) } },
    // Scores come back as the first sort value. No track_scores: it only adds max_score, which
    // OpenSearch computes by scoring every matching document (~35% more CPU per query).
    sort: [{ _score: { order: "desc" } }, { [TIE_BREAK_FIELD]: { order: "asc" } }],
    track_total_hits: false,
    _source: false,
    // No stored fields, not even _id: the message id comes back as the tie-break sort value, so the
    // fetch phase reads no compressed stored-field blocks (~30% less OpenSearch CPU per query).
    stored_fields: "_none_",
  };
}
