import * as z from "zod";
import { MAX_CONTENT_CHARS } from "../ingest-request";
import { MAX_QUERY_LENGTH } from "../search/search-request";
import type { Qrels } from "./metrics";

/**
 * A test collection in the BEIR layout, parsed from its three files' text:
 * - corpus.jsonl    {"_id", "title"?, "text", "metadata"?: {channel?, author?, timestamp?}}
 * - queries.jsonl   {"_id", "text", "filters"?: {channel?, author?, from?, to?}}
 * - qrels/test.tsv  query-id <TAB> corpus-id <TAB> score, after a header line
 * `metadata` and `filters` are our extension for message collections (per-conversation filters).
 */

export class DatasetError extends Error {
  override readonly name = "DatasetError";
}

const stringList = z.union([z.string(), z.array(z.string())]);

const corpusLine = z.object({
  _id: z.union([z.string(), z.number()]).transform(String),
  title: z.string().nullish(),
  text: z.string().nullish(),
  metadata: z
    .object({
      channel: z.string().min(1).optional(),
      author: z.string().min(1).optional(),
      timestamp: z.string().min(1).optional(),
    })
    .passthrough()
    .nullish(),
});

const queryLine = z.object({
  _id: z.union([z.string(), z.number()]).transform(String),
  text: z.string(),
  filters: z
    .object({
      channel: stringList.optional(),
      author: stringList.optional(),
      from: z.string().optional(),
      to: z.string().optional(),
    })
    .nullish(),
});

export interface CorpusDoc {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  readonly channel?: string;
  readonly author?: string;
  readonly timestamp?: string;
}

interface QueryFilters {
  readonly channel?: string | readonly string[];
  readonly author?: string | readonly string[];
  readonly from?: string;
  readonly to?: string;
}

export interface EvalQuery {
  readonly id: string;
  readonly text: string;
  readonly filters?: QueryFilters;
}

function jsonLines<T>(text: string, file: string, schema: z.ZodType<T>): T[] {
  const out: T[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join(".") || "(line)"}: ${x.message}`).join("; ");
      throw new DatasetError(`${file}:${i + 1}: ${why}`);
    }
    out.push(parsed.data);
  });
  return out;
}

export function parseCorpus(text: string, file = "corpus.jsonl"): CorpusDoc[] {
  const docs = jsonLines(text, file, corpusLine).map(
    (d): CorpusDoc => ({
      id: d._id,
      title: d.title ?? "",
      text: d.text ?? "",
      ...(d.metadata?.channel ? { channel: d.metadata.channel } : {}),
      ...(d.metadata?.author ? { author: d.metadata.author } : {}),
      ...(d.metadata?.timestamp ? { timestamp: d.metadata.timestamp } : {}),
    }),
  );
  assertUniqueIds(docs, file);
  return docs;
}

export function parseQueries(text: string, file = "queries.jsonl"): EvalQuery[] {
  const queries = jsonLines(text, file, queryLine).map(
    (q): EvalQuery => ({ id: q._id, text: q.text, ...(q.filters ? { filters: q.filters } : {}) }),
  );
  assertUniqueIds(queries, file);
  return queries;
}

function assertUniqueIds(items: readonly { id: string }[], file: string): void {
  const seen = new Set<string>();
  for (const { id } of items) {
    if (seen.has(id)) throw new DatasetError(`${file}: duplicate _id "${id}"`);
    seen.add(id);
  }
}

/** TREC-style qrels as BEIR ships them: a header line, then query-id, corpus-id, score (tabs). */
export function parseQrels(text: string, file = "qrels/test.tsv"): Qrels {
  const qrels = new Map<string, Map<string, number>>();
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const cols = line.split("\t");
    // BEIR files start with "query-id corpus-id score"; tolerate a missing header.
    if (i === 0 && !/^-?\d+(\.\d+)?$/.test(cols[2] ?? "")) return;
    const [queryId, docId, score] = cols;
    const grade = Number(score);
    if (!queryId || !docId || score === undefined || !Number.isFinite(grade)) {
      throw new DatasetError(`${file}:${i + 1}: expected query-id<TAB>corpus-id<TAB>score`);
    }
    let judgments = qrels.get(queryId);
    if (!judgments) {
      judgments = new Map();
      qrels.set(queryId, judgments);
    }
    judgments.set(docId, grade);
  });
  return qrels;
}

/** Defaults for corpus lines without `metadata` (fixed, so a re-run ingests identical rows). */
const DEFAULT_DOC_FIELDS = {
  channel: "corpus",
  author: "beir",
  timestamp: "2000-01-01T00:00:00.000Z",
} as const;

export interface DocContentOptions {
  /**
   * Prepend the title even when the text already starts with it. Off by default: Cranfield's
   * texts repeat their titles, and prepending again would double every title term's frequency.
   */
  readonly alwaysTitle?: boolean;
}

/** What the message holds: BEIR's title + text, the title only once. "" when the doc is empty. */
export function docContent(doc: CorpusDoc, opts: DocContentOptions = {}): string {
  const title = doc.title.trim();
  const text = doc.text.trim();
  const withTitle = title !== "" && (opts.alwaysTitle || !text.startsWith(title));
  const content = withTitle ? (text === "" ? title : `${title}\n${text}`) : text;
  return content.slice(0, MAX_CONTENT_CHARS);
}

/** A corpus document as a POST /messages item (external_id = the corpus id). */
export interface IngestItem {
  readonly external_id: string;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: string;
}

export function toIngestItem(doc: CorpusDoc, opts: DocContentOptions = {}): IngestItem | null {
  const content = docContent(doc, opts);
  if (content === "") return null;
  const ts = doc.timestamp ? new Date(doc.timestamp) : null;
  return {
    external_id: doc.id,
    channel: doc.channel ?? DEFAULT_DOC_FIELDS.channel,
    author: doc.author ?? DEFAULT_DOC_FIELDS.author,
    content,
    timestamp: ts && !Number.isNaN(ts.getTime()) ? ts.toISOString() : DEFAULT_DOC_FIELDS.timestamp,
  };
}

// Words the search API reads as operators: uppercase AND/OR/NOT (only as whole words).
const OPERATOR_WORD = /(^|\s)(AND|OR|NOT)(?=\s|$)/g;

/**
 * Test-collection queries are natural language, not our query syntax: "-dash" in Cranfield
 * means a dash, not "exclude dash". Plain mode makes the text mean only its words: quotes and
 * parentheses become spaces, a leading "-" is dropped, AND/OR/NOT are lowercased (then plain
 * words, and English stopwords for BM25). Adjacent words are OR-ed by the parser anyway.
 */
export function plainQueryText(text: string): string {
  return text
    .replace(/["()]/g, " ")
    .replace(/(^|\s)-+(?=\S)/g, "$1")
    .replace(OPERATOR_WORD, (_m, pre: string, op: string) => `${pre}${op.toLowerCase()}`)
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_QUERY_LENGTH);
}

/** True when plainQueryText changes what the search API would do with the raw text. */
export function hasQuerySyntax(text: string): boolean {
  return /["()]|(^|\s)-+\S/.test(text) || new RegExp(OPERATOR_WORD.source).test(text);
}

/** The search API parameters of a query (filters are our message-collection extension). */
export function searchParams(
  q: EvalQuery,
  strategy: string,
  limit: number,
  mode: "plain" | "raw" = "plain",
): URLSearchParams {
  const params = new URLSearchParams({
    q: mode === "plain" ? plainQueryText(q.text) : q.text,
    strategy,
    limit: String(limit),
    // Relevance is judged per message: one result per thread would hide judged replies.
    group: "none",
  });
  const f = q.filters;
  const many = (v: string | readonly string[] | undefined) => (v === undefined ? [] : [v].flat());
  for (const c of many(f?.channel)) params.append("channel", c);
  for (const a of many(f?.author)) params.append("author", a);
  if (f?.from) params.set("from", f.from);
  if (f?.to) params.set("to", f.to);
  return params;
}
