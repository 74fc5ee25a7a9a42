import type pg from "pg";
import type { SearchFilters } from "../../core/model";
import type { MessageFilter } from "../../core/ports";
import { splitSourceFilters } from "../../core/search/search-request";
import { toEpochSeconds } from "../chroma/where-filter";

/**
 * The search filters as SQL over candidate ids, with the same meaning as the BM25 and Chroma
 * filters: channel/author in the lists, source by name or type:name, and the timestamp range in
 * whole epoch seconds (as Chroma compares it: floor(ts) >= floor(from), floor(ts) <= floor(to)).
 */
export class PgMessageFilter implements MessageFilter {
  constructor(private readonly pool: pg.Pool) {}

  async matching(ids: readonly number[], filters: SearchFilters): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const sources = filters.sources ?? [];
    const { names, pairs } = splitSourceFilters(sources);
    const list = (xs: readonly string[] | undefined) => (xs && xs.length > 0 ? [...xs] : null);
    const res = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM messages m JOIN sources s ON s.id = m.source_id
       WHERE m.id = ANY($1::bigint[])
         AND ($2::text[] IS NULL OR m.channel = ANY($2::text[]))
         AND ($3::text[] IS NULL OR m.author = ANY($3::text[]))
         AND (NOT $4::boolean OR s.name = ANY($5::text[])
              OR EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS p(type, name)
                         WHERE p.type = s.type AND p.name = s.name))
         AND ($8::bigint IS NULL OR m."timestamp" >= to_timestamp($8::bigint))
         AND ($9::bigint IS NULL OR m."timestamp" < to_timestamp($9::bigint + 1))`,
      [
        ids,
        list(filters.channels),
        list(filters.authors),
        sources.length > 0,
        names,
        pairs.map((p) => p.type),
        pairs.map((p) => p.name),
        filters.from ? toEpochSeconds(filters.from) : null,
        filters.to ? toEpochSeconds(filters.to) : null,
      ],
    );
    return new Set(res.rows.map((r) => Number(r.id)));
  }
}
