import { type Client, errors } from "@opensearch-project/opensearch";
import type { MoreLikeThisQuery, SimilarMessages } from "../../core/gaps/ports";
import type { LegHit, SearchFilters, StoredMessage } from "../../core/model";
import type {
  IndexedVersion,
  IndexWriteOutcome,
  KeywordIndexUpkeep,
  KeywordSearch,
  ReconcilableKeywordIndex,
} from "../../core/ports";
import { type MessageFacets, messageFacets } from "../../core/search/message-features";
import type { QueryNode } from "../../core/search/query-parser";
import { createIndexIfAbsent, deleteIndexWithTemplate, nullIfIndexMissing, statusOf } from "./index-errors";
import { buildKeywordQuery, FEATURES_FIELD, MENTIONS_FIELD } from "./query-dsl";

export interface OpenSearchKeywordIndexOptions {
  readonly shards?: number;
  readonly replicas?: number;
  readonly refreshInterval?: string;
  /** Attempts per bulk item while OpenSearch answers 429 (the first try included). */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  readonly backoffMs?: number;
  /** Told when the index template could not be put (the index itself is still created). */
  readonly warn?: (message: string, err: unknown) => void;
  /**
   * The keyword context policy's version (message-context.ts legVersion; "" = none), recorded in
   * the mapping's _meta: an index built under another policy reads as "foreign" and is rebuilt.
   */
  readonly contextVersion?: string;
  /** Weight of the context field against the content at query time. */
  readonly contextBoost?: number;
}

/** The document we keep per message: content for BM25, the rest for filters and reconciliation. */
interface MessageDoc {
  message_id: number;
  content: string;
  /** What the message lacks on its own (author name, thread parent, preceding messages). */
  context?: string;
  source: string;
  source_type: string;
  channel: string;
  author: string;
  timestamp: Date;
  thread_id: string | null;
  /** User ids the message mentions and what it has (message-features.ts): `to:` and `has:` filter on them. */
  mentions: string[];
  features: string[];
  metadata: Record<string, unknown>;
  version: number;
}

type BulkAction =
  | { kind: "index"; id: number; version: number; doc: MessageDoc }
  | { kind: "delete"; id: number; version: number };

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string | null } | null;
}

const NOT_FOUND = 404;
/** Above the 0-100 range hand-made catch-all templates tend to use, so they never tie with ours. */
const TEMPLATE_PRIORITY = 500;
const CONFLICT = 409;
const TOO_MANY_REQUESTS = 429;

/**
 * English analysis plus word parts, so "OAuth2" is found by "OAuth" (and "OAuth2"): the
 * standard tokenizer keeps "OAuth2" whole, the word delimiter adds "OAuth" and "2" beside it.
 * Case changes are not split ("OAuth" stays one word), which keeps "O" and "Auth" out of the index.
 */
/** The analyzer of the content field (defined in MESSAGE_ANALYSIS below). */
const CONTENT_ANALYZER = "message_english";

export const MESSAGE_ANALYSIS = {
  filter: {
    message_word_parts: {
      type: "word_delimiter" as const,
      preserve_original: true,
      split_on_case_change: false,
      split_on_numerics: true,
      stem_english_possessive: true,
    },
    english_possessive_stemmer: { type: "stemmer" as const, language: "possessive_english" },
    english_stop: { type: "stop" as const, stopwords: "_english_" },
    english_stemmer: { type: "stemmer" as const, language: "english" },
  },
  analyzer: {
    [CONTENT_ANALYZER]: {
      type: "custom" as const,
      tokenizer: "standard",
      filter: [
        "english_possessive_stemmer",
        "message_word_parts",
        "lowercase",
        "english_stop",
        "english_stemmer",
      ],
    },
  },
};

/** The index template that goes with an index (templates and indices have separate names). */
export function indexTemplateName(indexName: string): string {
  return `${indexName}-mapping`;
}

/** Deletes an index and its template; either one missing is fine. */
export async function deleteIndexAndTemplate(client: Client, indexName: string): Promise<void> {
  await deleteIndexWithTemplate(client, indexName, indexTemplateName(indexName));
}

/** Keyword (BM25) index in OpenSearch: one doc per message, id = message id, external versioning. */
export class OpenSearchKeywordIndex
  implements ReconcilableKeywordIndex, KeywordSearch, SimilarMessages, KeywordIndexUpkeep
{
  private readonly opts: Required<OpenSearchKeywordIndexOptions>;
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    readonly indexName: string,
    opts: OpenSearchKeywordIndexOptions = {},
  ) {
    this.opts = {
      shards: opts.shards ?? 1,
      replicas: opts.replicas ?? 0,
      refreshInterval: opts.refreshInterval ?? "1s",
      maxAttempts: opts.maxAttempts ?? 5,
      backoffMs: opts.backoffMs ?? 200,
      warn: opts.warn ?? ((message, err) => console.warn(message, err)),
      contextVersion: opts.contextVersion ?? "",
      contextBoost: opts.contextBoost ?? 1,
    };
  }

  /** Creates the index once per instance; writes call it so a bulk never auto-creates a dynamic index. */
  ensureIndex(): Promise<void> {
    this.ensured ??= this.createIndex().catch((err: unknown) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  /**
   * A template of the index, then the index. The adapter remembers "created", so after the index
   * is deleted by hand a worker's `_bulk` makes OpenSearch auto-create it; the template gives that
   * index this mapping instead of a dynamic one (text + keyword subfields, no English analysis),
   * and the reconciler then refills it. Refusing auto-creation outright would need the
   * cluster-wide `action.auto_create_index` setting, which is the operator's, not the app's.
   */
  private async createIndex(): Promise<void> {
    await this.putTemplate();
    await this.createIndexOnly();
  }

  private async createIndexOnly(): Promise<void> {
    await createIndexIfAbsent(this.client, this.indexName, this.indexBody());
  }

  /**
   * The template is a safety net, so failing to put it (another template of the same priority
   * matching the name, a missing permission) is reported, not fatal.
   */
  private async putTemplate(): Promise<void> {
    const name = indexTemplateName(this.indexName);
    try {
      await this.client.indices.putIndexTemplate({
        name,
        body: { index_patterns: [this.indexName], priority: TEMPLATE_PRIORITY, template: this.indexBody() },
      });
    } catch (err) {
      this.opts.warn(
        `OpenSearch index template ${name} could not be put: if index ${this.indexName} is deleted by hand, writes will recreate it with a dynamic mapping until it is rebuilt`,
        err,
      );
    }
  }

  /**
   * Deletes and recreates the index (the reconciler, reindex). The template goes in first, so a
   * worker's write between the delete and the create auto-creates the index with this mapping,
   * even when the template had been deleted too.
   */
  async rebuildIndex(): Promise<void> {
    await this.putTemplate();
    await this.deleteIndex();
    await this.createIndexOnly();
    this.ensured = Promise.resolve();
  }

  private indexBody() {
    return {
      settings: {
        number_of_shards: this.opts.shards,
        number_of_replicas: this.opts.replicas,
        refresh_interval: this.opts.refreshInterval,
        analysis: MESSAGE_ANALYSIS,
      },
      mappings: {
        // Strict: a typo'd field fails the item instead of silently growing the mapping.
        dynamic: "strict",
        _meta: { context_policy: this.opts.contextVersion },
        properties: {
          message_id: { type: "long" },
          content: {
            type: "text",
            analyzer: CONTENT_ANALYZER,
            fields: { exact: { type: "text", analyzer: "standard" } },
          },
          context: { type: "text", analyzer: CONTENT_ANALYZER },
          source: { type: "keyword" },
          source_type: { type: "keyword" },
          channel: { type: "keyword" },
          author: { type: "keyword" },
          timestamp: { type: "date" },
          thread_id: { type: "keyword" },
          [MENTIONS_FIELD]: { type: "keyword" },
          [FEATURES_FIELD]: { type: "keyword" },
          // Stored, never indexed: arbitrary JSON from a source can never break the mapping.
          metadata: { type: "object", enabled: false },
          version: { type: "long" },
        },
      },
    } as const;
  }

  /**
   * Whether the index exists and was made from this adapter's mapping: "foreign" when created some
   * other way (e.g. auto-created by a write after both the index and its template were deleted by
   * hand, so without the English analysis and word parts BM25 relies on); "outdated" when made by
   * this product under another keyword context policy (or before the context, mentions and features
   * fields existed), so its documents are stale. Reconcile rebuilds both.
   */
  async mappingState(): Promise<"missing" | "product" | "outdated" | "foreign"> {
    const res = await this.client.indices.getMapping({ index: this.indexName }).catch(nullIfIndexMissing);
    if (!res) return "missing";
    const mapping = Object.values(res.body)[0]?.mappings as
      | {
          dynamic?: unknown;
          _meta?: { context_policy?: unknown };
          properties?: Record<string, { analyzer?: unknown }>;
        }
      | undefined;
    const ours =
      String(mapping?.dynamic) === "strict" &&
      mapping?.properties?.["content"]?.analyzer === CONTENT_ANALYZER;
    if (!ours) return "foreign";
    const current =
      mapping?.properties?.["context"]?.analyzer === CONTENT_ANALYZER &&
      // Built before `to:` and `has:` had fields: its documents lack them.
      mapping?.properties?.[FEATURES_FIELD] !== undefined &&
      (mapping?._meta?.context_policy ?? "") === this.opts.contextVersion;
    return current ? "product" : "outdated";
  }

  /** Whether the index exists (read-only callers check this instead of creating it). */
  async exists(): Promise<boolean> {
    return (await this.client.indices.exists({ index: this.indexName })).body;
  }

  /** Rows with deletedAt are written as deletes, so callers can pass the current rows as they are. */
  async upsert(
    rows: readonly StoredMessage[],
    contexts?: ReadonlyMap<number, string>,
    facets?: ReadonlyMap<number, MessageFacets>,
  ): Promise<IndexWriteOutcome[]> {
    const actions: BulkAction[] = rows.map((row) =>
      row.deletedAt
        ? { kind: "delete", id: row.id, version: row.version }
        : {
            kind: "index",
            id: row.id,
            version: row.version,
            doc: toDoc(row, contexts?.get(row.id), facets?.get(row.id) ?? messageFacets(row)),
          },
    );
    return this.bulk(actions);
  }

  async remove(jobs: readonly { messageId: number; version: number }[]): Promise<IndexWriteOutcome[]> {
    return this.bulk(jobs.map((j) => ({ kind: "delete", id: j.messageId, version: j.version })));
  }

  async count(refresh = false): Promise<number> {
    if (refresh) await this.refresh();
    const res = await this.client.count({ index: this.indexName });
    return res.body.count;
  }

  async listVersions(afterId: number, limit: number): Promise<IndexedVersion[]> {
    const res = await this.client.search({
      index: this.indexName,
      body: {
        size: limit,
        query: { match_all: {} },
        sort: [{ message_id: "asc" }],
        search_after: [afterId],
        _source: ["message_id", "version"],
        track_total_hits: false,
      },
    });
    return res.body.hits.hits.map((hit) => {
      const src = (hit._source ?? {}) as { message_id?: number; version?: number };
      return { messageId: src.message_id ?? Number(hit._id), version: src.version ?? 0 };
    });
  }

  /** The BM25 leg: our parsed query compiled to DSL (never query_string on user input). */
  async search(query: QueryNode, filters: SearchFilters, size: number): Promise<LegHit[]> {
    return this.searchBody(
      buildKeywordQuery(query, filters, {
        size,
        ...(this.opts.contextVersion ? { contextBoost: this.opts.contextBoost } : {}),
      }),
    );
  }

  /** Runs a prepared query body (see query-dsl.ts) and keeps only what fusion needs. */
  async searchBody(body: object): Promise<LegHit[]> {
    // No index yet (nothing written since a deploy, or deleted until reconcile rebuilds it): no hits.
    const res = await this.client
      .search({ index: this.indexName, body: body as Record<string, unknown> })
      .catch(nullIfIndexMissing);
    if (!res) return [];
    // Bodies from buildKeywordQuery fetch no stored fields (no _id) and sort by [score, message_id].
    return res.body.hits.hits.map((hit) => ({
      messageId: Number(hit._id ?? hit.sort?.[1]),
      score: hit._score ?? Number(hit.sort?.[0] ?? 0),
    }));
  }

  /**
   * Gap detection's BM25 leg: per query, the messages outside `excludeChannels` in the window that
   * share the rare terms of the `like` messages (OpenSearch's more_like_this picks each message's
   * highest tf-idf terms). One `_msearch` round trip for all queries.
   */
  async moreLikeThis(queries: readonly MoreLikeThisQuery[]): Promise<LegHit[][]> {
    if (queries.length === 0) return [];
    const body: Record<string, unknown>[] = [];
    for (const q of queries) {
      // The index is in the request path (IAM grants index paths), so each header is empty.
      body.push({});
      body.push({
        size: q.size,
        _source: false,
        track_total_hits: false,
        query: {
          bool: {
            must: {
              more_like_this: {
                fields: ["content"],
                like: q.like.map((id) => ({ _index: this.indexName, _id: String(id) })),
                // Chat messages are short: a term counts once it occurs, and is shared once it is in two messages.
                min_term_freq: 1,
                min_doc_freq: 2,
                max_query_terms: 25,
                minimum_should_match: "30%",
              },
            },
            filter: [
              {
                range: {
                  timestamp: { gte: q.window.since.toISOString(), lt: q.window.until.toISOString() },
                },
              },
            ],
            ...(q.excludeChannels.length > 0
              ? { must_not: [{ terms: { channel: q.excludeChannels } }] }
              : {}),
          },
        },
      });
    }
    const res = await this.client
      .msearch({ index: this.indexName, body: body as never })
      .catch(nullIfIndexMissing);
    if (!res) return queries.map(() => []);
    const responses = (
      res.body as {
        responses: {
          hits?: { hits: { _id: string; _score: number | null }[] };
          error?: { type?: string; reason?: string };
        }[];
      }
    ).responses;
    return queries.map((_, i) => {
      const r = responses[i];
      if (!r || r.error) {
        if (r?.error?.type === "index_not_found_exception") return [];
        throw new Error(
          `more_like_this failed: ${r?.error?.type ?? "no response"}: ${r?.error?.reason ?? ""}`,
        );
      }
      return (r.hits?.hits ?? []).map((h) => ({ messageId: Number(h._id), score: h._score ?? 0 }));
    });
  }

  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: this.indexName });
  }

  /**
   * Deletes the index; ensureIndex() creates it again. The template stays, so a worker's write in
   * between auto-creates the index with the product mapping (rebuildIndex() does all three).
   */
  async deleteIndex(): Promise<void> {
    this.ensured = undefined;
    await this.client.indices.delete({ index: this.indexName, ignore_unavailable: true });
  }

  /** Removes the index and its template for good (tests, benchmarks, namespace teardown). */
  async deleteIndexAndTemplate(): Promise<void> {
    this.ensured = undefined;
    await deleteIndexAndTemplate(this.client, this.indexName);
  }

  /**
   * One `_bulk` per round; only items answered 429 (or every item when the whole request is 429)
   * go to the next round, after an exponential backoff.
   */
  private async bulk(actions: readonly BulkAction[]): Promise<IndexWriteOutcome[]> {
    if (actions.length === 0) return [];
    await this.ensureIndex();
    const outcomes = new Array<IndexWriteOutcome | undefined>(actions.length);
    let pending = actions.map((_, i) => i);

    for (let attempt = 1; pending.length > 0; attempt++) {
      const last = attempt >= this.opts.maxAttempts;
      const throttled: number[] = [];
      let items: BulkItemResult[];
      try {
        items = await this.sendBulk(pending.map((i) => actions[i]!));
      } catch (err) {
        const status = statusOf(err);
        const message = describe(err);
        if (status === TOO_MANY_REQUESTS && !last) {
          await this.backoff(attempt);
          continue;
        }
        // No status: the request never got an answer (connection reset, timeout), worth retrying.
        const retryable = status === undefined || status >= 500 || status === TOO_MANY_REQUESTS;
        for (const i of pending)
          outcomes[i] = { messageId: actions[i]!.id, ok: false, retryable, error: message };
        break;
      }

      pending.forEach((actionIndex, k) => {
        const action = actions[actionIndex]!;
        const item = items[k];
        if (!item) {
          outcomes[actionIndex] = {
            messageId: action.id,
            ok: false,
            retryable: true,
            error: "missing bulk item",
          };
          return;
        }
        if (item.status === TOO_MANY_REQUESTS && !last) {
          throttled.push(actionIndex);
          return;
        }
        outcomes[actionIndex] = itemOutcome(action, item);
      });
      pending = throttled;
      if (pending.length > 0) await this.backoff(attempt);
    }
    return outcomes.map(
      (o, i) => o ?? { messageId: actions[i]!.id, ok: false, retryable: true, error: "not sent" },
    );
  }

  private async sendBulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]> {
    const body: Record<string, unknown>[] = [];
    for (const a of actions) {
      // External versioning: OpenSearch keeps the highest version, whatever order jobs arrive in.
      const meta = {
        _index: this.indexName,
        _id: String(a.id),
        version: a.version,
        version_type: "external",
      };
      if (a.kind === "index") body.push({ index: meta }, a.doc as unknown as Record<string, unknown>);
      else body.push({ delete: meta });
    }
    const res = await this.client.bulk({ body });
    return res.body.items.map((entry) => {
      const item = entry.index ?? entry.delete ?? entry.create ?? entry.update;
      return item
        ? { status: item.status, error: item.error ?? null }
        : { status: 500, error: { reason: "empty item" } };
    });
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.opts.backoffMs * 2 ** (attempt - 1);
    const delay = base / 2 + Math.random() * (base / 2);
    return new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function toDoc(row: StoredMessage, context: string | undefined, facets: MessageFacets): MessageDoc {
  return {
    message_id: row.id,
    content: row.content,
    ...(context ? { context } : {}),
    source: row.source.name,
    source_type: row.source.type,
    channel: row.channel,
    author: row.author,
    // Serialised by JSON.stringify (ISO 8601); a bad value is rejected per item by the mapping.
    timestamp: row.timestamp,
    thread_id: row.threadId,
    mentions: facets.mentions,
    features: facets.features,
    metadata: row.metadata,
    version: row.version,
  };
}

function itemOutcome(action: BulkAction, item: BulkItemResult): IndexWriteOutcome {
  const { status } = item;
  if (status >= 200 && status < 300) return { messageId: action.id, ok: true };
  // 409: the index already holds this version or a newer one, which is the state we want.
  if (status === CONFLICT) return { messageId: action.id, ok: true };
  // Deleting what is not there leaves the index as intended (a tombstone still records the version).
  if (status === NOT_FOUND && action.kind === "delete") return { messageId: action.id, ok: true };
  const reason = item.error
    ? `${item.error.type ?? "error"}: ${item.error.reason ?? ""}`
    : `status ${status}`;
  return {
    messageId: action.id,
    ok: false,
    retryable: status >= 500 || status === TOO_MANY_REQUESTS,
    error: `${status} ${reason}`,
  };
}

function describe(err: unknown): string {
  // The client's message already names the error type and root-cause reasons.
  if (err instanceof errors.ResponseError) return `${err.statusCode} ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
