import type pg from "pg";
import type { SearchFilters } from "../../core/model";
import type { MessageFilter } from "../../core/ports";
import { splitSourceFilters } from "../../core/search/search-request";
import { toEpochSeconds } from "../chroma/where-filter";

/** The filters as one WHERE clause over `messages m JOIN sources s`, parameters from $2 on. */
const FILTER_SQL = `($2::text[] IS NULL OR m.channel = ANY($2::text[]))
  AND ($3::text[] IS NULL OR m.author = ANY($3::text[]))
  AND (NOT $4::boolean OR s.name = ANY($5::text[])
       OR EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS p(type, name)
                  WHERE p.type = s.type AND p.name = s.name))
  AND ($8::bigint IS NULL OR m."timestamp" >= to_timestamp($8::bigint))
  AND ($9::bigint IS NULL OR m."timestamp" < to_timestamp($9::bigint + 1))`;

/** How long estimates are reused: they come from statistics that only move with ANALYZE / autovacuum. */
const ESTIMATE_TTL_MS = 60_000;
/** Distinct filter combinations remembered per container (channel and author filters repeat). */
const MAX_CACHED_ESTIMATES = 1_000;

interface Cached<T> {
  readonly at: number;
  readonly value: Promise<T>;
}

/**
 * The search filters as SQL, with the same meaning as the BM25 and Chroma filters: channel/author
 * in the lists, source by name or type:name, and the timestamp range in whole epoch seconds (as
 * Chroma compares it: floor(ts) >= floor(from), floor(ts) <= floor(to)).
 */
export class PgMessageFilter implements MessageFilter {
  private tableRows: Cached<number> | undefined;
  private readonly shares = new Map<string, Cached<number | undefined>>();

  constructor(private readonly pool: pg.Pool) {}

  async matching(ids: readonly number[], filters: SearchFilters): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const res = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM messages m JOIN sources s ON s.id = m.source_id
       WHERE m.id = ANY($1::bigint[]) AND ${FILTER_SQL}`,
      [ids, ...filterParams(filters)],
    );
    return new Set(res.rows.map((r) => Number(r.id)));
  }

  /**
   * The planner's estimate (column statistics, no scan): one EXPLAIN of the filter over the whole
   * table, divided by the table's estimated row count. Undefined before the table was ever analysed.
   * Reused for a minute per filter combination, as the statistics behind it change no faster.
   */
  estimatedShare(filters: SearchFilters): Promise<number | undefined> {
    const params = filterParams(filters);
    const key = JSON.stringify(params);
    const now = Date.now();
    const hit = this.shares.get(key);
    if (hit && now - hit.at <= ESTIMATE_TTL_MS) return hit.value;
    if (this.shares.size >= MAX_CACHED_ESTIMATES) this.shares.clear();
    const value = this.planEstimate(params);
    value.catch(() => this.shares.delete(key));
    this.shares.set(key, { at: now, value });
    return value;
  }

  private async planEstimate(params: unknown[]): Promise<number | undefined> {
    const [total, plan] = await Promise.all([
      this.estimatedTableRows(),
      this.pool.query<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] }>(
        // $1 is unused here; passing it keeps the parameter numbering of FILTER_SQL.
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM messages m JOIN sources s ON s.id = m.source_id
         WHERE $1::int IS NULL AND ${FILTER_SQL}`,
        [null, ...params],
      ),
    ]);
    if (!(total > 0)) return undefined;
    const rows = plan.rows[0]?.["QUERY PLAN"][0]?.Plan["Plan Rows"];
    return rows === undefined ? undefined : Math.min(1, rows / total);
  }

  async embeddedMatching(filters: SearchFilters, max: number): Promise<number[] | null> {
    const res = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM messages m JOIN sources s ON s.id = m.source_id
       WHERE m.deleted_at IS NULL AND m.vector_version IS NOT NULL AND ${FILTER_SQL}
       LIMIT $1`,
      [max + 1, ...filterParams(filters)],
    );
    return res.rows.length > max ? null : res.rows.map((r) => Number(r.id));
  }

  private estimatedTableRows(): Promise<number> {
    const now = Date.now();
    if (!this.tableRows || now - this.tableRows.at > ESTIMATE_TTL_MS) {
      const value = this.pool
        .query<{ rows: number }>(
          "SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'messages'::regclass",
        )
        .then((r) => Number(r.rows[0]?.rows ?? -1));
      value.catch(() => {
        this.tableRows = undefined;
      });
      this.tableRows = { at: now, value };
    }
    return this.tableRows.value;
  }
}

function filterParams(filters: SearchFilters): unknown[] {
  const sources = filters.sources ?? [];
  const { names, pairs } = splitSourceFilters(sources);
  const list = (xs: readonly string[] | undefined) => (xs && xs.length > 0 ? [...xs] : null);
  return [
    list(filters.channels),
    list(filters.authors),
    sources.length > 0,
    names,
    pairs.map((p) => p.type),
    pairs.map((p) => p.name),
    filters.from ? toEpochSeconds(filters.from) : null,
    filters.to ? toEpochSeconds(filters.to) : null,
  ];
}
