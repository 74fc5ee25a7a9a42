import type pg from "pg";
import type { MessageFeature, SearchFilters } from "../../core/model";
import type { FactsSource, MessageFacts } from "../../core/search/message-facts";
import { splitSourceFilters, toEpochSeconds } from "../../core/search/search-request";
import type { EmbeddedRef } from "../../core/search/vector-cache";

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
export class PgMessageFilter implements FactsSource {
  private tableRows: Cached<number> | undefined;
  private readonly shares = new Map<string, Cached<number | undefined>>();

  constructor(private readonly pool: pg.Pool) {}

  async matching(ids: readonly number[], filters: SearchFilters): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const f = filterSql(filters, 2);
    const res = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM ${f.from} WHERE m.id = ANY($1::bigint[]) AND ${f.where}`,
      [ids, ...f.params],
    );
    return new Set(res.rows.map((r) => Number(r.id)));
  }

  async factsOf(ids: readonly number[]): Promise<Map<number, MessageFacts>> {
    const facts = new Map<number, MessageFacts>();
    if (ids.length === 0) return facts;
    // Whole seconds (floor), as every filter compares them (toEpochSeconds).
    const res = await this.pool.query<{ id: string; channel: string; author: string; s: string }>(
      `SELECT m.id, m.channel, m.author, floor(extract(epoch FROM m."timestamp"))::bigint AS s
       FROM messages m WHERE m.id = ANY($1::bigint[])`,
      [ids],
    );
    for (const r of res.rows)
      facts.set(Number(r.id), { channel: r.channel, author: r.author, epochSeconds: Number(r.s) });
    return facts;
  }

  /**
   * The planner's estimate (column statistics, no scan): one EXPLAIN of the filter over the whole
   * table, divided by the table's estimated row count. Undefined before the table was ever analysed.
   * Reused for a minute per filter combination, as the statistics behind it change no faster.
   */
  estimatedShare(filters: SearchFilters): Promise<number | undefined> {
    const f = filterSql(filters, 1);
    // `from` follows from `where` (the join comes with a source filter).
    const key = `${f.where}|${JSON.stringify(f.params)}`;
    const now = Date.now();
    const hit = this.shares.get(key);
    if (hit && now - hit.at <= ESTIMATE_TTL_MS) return hit.value;
    if (this.shares.size >= MAX_CACHED_ESTIMATES) this.shares.clear();
    const value = this.planEstimate(f);
    value.catch(() => this.shares.delete(key));
    this.shares.set(key, { at: now, value });
    return value;
  }

  private async planEstimate(f: FilterSql): Promise<number | undefined> {
    const [total, plan] = await Promise.all([
      this.estimatedTableRows(),
      this.pool.query<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] }>(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${f.from} WHERE ${f.where}`,
        f.params,
      ),
    ]);
    if (!(total > 0)) return undefined;
    const rows = plan.rows[0]?.["QUERY PLAN"][0]?.Plan["Plan Rows"];
    return rows === undefined ? undefined : Math.min(1, rows / total);
  }

  /**
   * One text row ("id:version,id:version,...") rather than a row per message: node-pg builds an
   * object per row (~1 us each), the text parses in a fraction of that. 2,560 refs: 2.6-3.5 ms of
   * this process's CPU as rows, 0.6-0.7 ms as text, the same in PostgreSQL (bench/README.md, search).
   */
  async embeddedMatching(filters: SearchFilters, max: number): Promise<EmbeddedRef[] | null> {
    const f = filterSql(filters, 2);
    const res = await this.pool.query<{ refs: string | null }>(
      `SELECT string_agg(t.id::text || ':' || t.vector_version::text, ',') AS refs FROM (
         SELECT m.id, m.vector_version FROM ${f.from}
         WHERE m.deleted_at IS NULL AND m.vector_version IS NOT NULL AND ${f.where}
         LIMIT $1) t`,
      [max + 1, ...f.params],
    );
    const refs = parseRefs(res.rows[0]?.refs ?? "");
    return refs.length > max ? null : refs;
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

/** "id:version,id:version" (both non-negative integers) as refs, in one pass without substrings. */
export function parseRefs(text: string): EmbeddedRef[] {
  const refs: EmbeddedRef[] = [];
  let id = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44;
    if (c === 58) {
      id = value;
      value = 0;
    } else if (c === 44) {
      if (i > 0) refs.push({ messageId: id, vectorVersion: value });
      value = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
    } else {
      throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i} in a list of embedded messages`);
    }
  }
  return refs;
}

/** A positive count or a non-empty list (message-features.ts `present`). */
const present = (key: string) =>
  `(CASE jsonb_typeof(m.message_metadata->'${key}') WHEN 'number' THEN (m.message_metadata->>'${key}')::numeric > 0
     WHEN 'array' THEN jsonb_array_length(m.message_metadata->'${key}') > 0 ELSE false END)`;

const FEATURE_SQL: Record<MessageFeature, string> = {
  link: "m.content ~* 'https?://[^\\s>|]'",
  reaction: present("reactions"),
  file: present("files"),
};

/** The filters as SQL over `messages m` (joined with `sources s` only for a source filter). */
interface FilterSql {
  readonly from: string;
  /** A conjunction of the filters present ("TRUE" for none). */
  readonly where: string;
  /** Values for the placeholders in `where`, numbered from the `first` given to filterSql. */
  readonly params: unknown[];
}

/**
 * Only the filters present become SQL, so the planner sees a plain conjunction. A catch-all
 * `($n IS NULL OR ...)` clause with a join to sources planned in ~2 ms against ~0.6 ms for this;
 * per candidate check at 100k messages that was ~0.6 ms of PostgreSQL CPU (bench/README.md).
 * Values are always placeholders, never SQL text.
 */
function filterSql(filters: SearchFilters, first: number): FilterSql {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => {
    params.push(value);
    return `$${first + params.length - 1}::${type}`;
  };
  const where: string[] = [];
  if (filters.channels && filters.channels.length > 0)
    where.push(`m.channel = ANY(${param([...filters.channels], "text[]")})`);
  if (filters.authors && filters.authors.length > 0)
    where.push(`m.author = ANY(${param([...filters.authors], "text[]")})`);
  const sources = filters.sources ?? [];
  if (sources.length > 0) {
    const { names, pairs } = splitSourceFilters(sources);
    const alternatives: string[] = [];
    if (names.length > 0) alternatives.push(`s.name = ANY(${param(names, "text[]")})`);
    if (pairs.length > 0) {
      const types = param(
        pairs.map((p) => p.type),
        "text[]",
      );
      const pairNames = param(
        pairs.map((p) => p.name),
        "text[]",
      );
      alternatives.push(`(s.type, s.name) IN (SELECT t, n FROM unnest(${types}, ${pairNames}) AS p(t, n))`);
    }
    where.push(`(${alternatives.join(" OR ")})`);
  }
  if (filters.excludeChannels && filters.excludeChannels.length > 0)
    where.push(`NOT (m.channel = ANY(${param([...filters.excludeChannels], "text[]")}))`);
  if (filters.excludeAuthors && filters.excludeAuthors.length > 0)
    where.push(`NOT (m.author = ANY(${param([...filters.excludeAuthors], "text[]")}))`);
  // The rules of message-features.ts, in SQL (the keyword index stores their result per message).
  if (filters.mentions && filters.mentions.length > 0) {
    const ids = param([...filters.mentions], "text[]");
    where.push(
      `(EXISTS (SELECT 1 FROM unnest(${ids}) AS u(id)
                 WHERE strpos(m.content, '<@' || u.id || '>') > 0 OR strpos(m.content, '<@' || u.id || '|') > 0)
        OR (jsonb_typeof(m.message_metadata->'mentions') IN ('array', 'string') AND m.message_metadata->'mentions' ?| ${ids}))`,
    );
  }
  for (const feature of filters.has ?? []) where.push(FEATURE_SQL[feature]);
  if (filters.inThread) where.push("m.thread_id IS NOT NULL");
  // Whole epoch seconds, as Chroma compares them: floor(ts) >= floor(from), floor(ts) <= floor(to).
  if (filters.from)
    where.push(`m."timestamp" >= to_timestamp(${param(toEpochSeconds(filters.from), "bigint")})`);
  if (filters.to)
    where.push(`m."timestamp" < to_timestamp(${param(toEpochSeconds(filters.to), "bigint")} + 1)`);
  return {
    from: sources.length > 0 ? "messages m JOIN sources s ON s.id = m.source_id" : "messages m",
    where: where.length > 0 ? where.join(" AND ") : "TRUE",
    params,
  };
}
