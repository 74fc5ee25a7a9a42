import type { Where } from "chromadb";
import type { SearchFilters } from "../../core/model";
import { splitSourceFilters, toEpochSeconds } from "../../core/search/search-request";

/**
 * Chroma `where` filter for the semantic leg, built from the same SearchFilters as the BM25 leg.
 *
 * Metadata keys it expects on every record (the vector adapter must write them):
 * `channel`, `author`, `source` (source name), `source_type` (strings) and `timestamp`
 * (integer epoch seconds: use toEpochSeconds, so stored values and bounds compare as integers).
 *
 * Chroma 1.x accepts exactly one key per where object, and `$and`/`$or` need at least two
 * operands, so a single condition is returned bare and several are wrapped in one `$and`.
 */

function anyOf(key: string, values: readonly string[]): Where {
  return values.length === 1 ? { [key]: values[0]! } : { [key]: { $in: [...values] } };
}

function combine(op: "$and" | "$or", parts: Where[]): Where | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0]!;
  return op === "$and" ? { $and: parts } : { $or: parts };
}

/**
 * Returns undefined when there is nothing to filter (Chroma rejects an empty where). `mentions`,
 * `has` and `inThread` are not in Chroma's metadata: the semantic leg checks them in PostgreSQL
 * (filtered-vector-search.ts), never through this filter alone.
 */
export function buildChromaWhere(filters: SearchFilters): Where | undefined {
  const conditions: Where[] = [];
  if (filters.channels && filters.channels.length > 0) conditions.push(anyOf("channel", filters.channels));
  if (filters.authors && filters.authors.length > 0) conditions.push(anyOf("author", filters.authors));
  if (filters.sources && filters.sources.length > 0) {
    const { names, pairs } = splitSourceFilters(filters.sources);
    const alternatives: Where[] = [];
    if (names.length > 0) alternatives.push(anyOf("source", names));
    for (const p of pairs) alternatives.push({ $and: [{ source_type: p.type }, { source: p.name }] });
    const sourceWhere = combine("$or", alternatives);
    if (sourceWhere) conditions.push(sourceWhere);
  }
  if (filters.excludeChannels && filters.excludeChannels.length > 0)
    conditions.push({ channel: { $nin: [...filters.excludeChannels] } });
  if (filters.excludeAuthors && filters.excludeAuthors.length > 0)
    conditions.push({ author: { $nin: [...filters.excludeAuthors] } });
  if (filters.from) conditions.push({ timestamp: { $gte: toEpochSeconds(filters.from) } });
  if (filters.to) conditions.push({ timestamp: { $lte: toEpochSeconds(filters.to) } });
  return combine("$and", conditions);
}
