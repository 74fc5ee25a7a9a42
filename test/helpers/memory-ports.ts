import type {
  GapDetectionPorts,
  GapWindow,
  MoreLikeThisQuery,
  WindowMessage,
} from "../../functions/core/gaps/ports";
import { labelWords } from "../../functions/core/gaps/terms";
import type {
  IndexJob,
  IndexTarget,
  LegHit,
  MessageInput,
  SearchFilters,
  SourceRef,
  StoredMessage,
} from "../../functions/core/model";
import type {
  Embedder,
  IndexWriteOutcome,
  IngestOutcome,
  JobMessage,
  JobPublisher,
  KeywordIndex,
  MessageStore,
  OutboxEntry,
  OutboxStore,
  VectorIndex,
} from "../../functions/core/ports";
import { exactNearest } from "../../functions/core/search/exact-nearest";

/**
 * In-memory ports for unit tests of core use cases (pure logic). The real adapters are covered
 * by integration tests against the real services.
 */
export class MemoryStore implements MessageStore, OutboxStore {
  rows = new Map<number, StoredMessage>();
  outbox: (OutboxEntry & { sent: boolean })[] = [];
  applied: { target: IndexTarget; messageId: number; version: number }[] = [];

  put(m: Partial<StoredMessage> & { id: number }): void {
    this.rows.set(m.id, {
      sourceId: 1,
      source: { type: "slack", name: "acme" },
      externalId: String(m.id),
      channel: "#platform",
      author: "a@b.c",
      content: `message ${m.id}`,
      timestamp: new Date(0),
      threadId: null,
      metadata: {},
      embeddingId: null,
      version: 1,
      contentHash: "h",
      deletedAt: null,
      ...m,
    });
  }
  async ingest(_s: SourceRef, messages: readonly MessageInput[]) {
    const outcomes: IngestOutcome[] = messages.map((m, i) => ({
      externalId: m.externalId,
      messageId: i + 1,
      status: "created",
      version: 1,
    }));
    const outboxIds = outcomes.flatMap((o) =>
      (["keyword", "vector"] as const).map((target) => {
        const id = this.outbox.length + 1;
        this.outbox.push({
          id,
          target,
          job: { messageId: o.messageId, op: "upsert", version: 1 },
          sent: false,
        });
        return id;
      }),
    );
    return { outcomes, outboxIds };
  }
  async softDelete() {
    return null;
  }
  async getByIds(ids: readonly number[]) {
    return ids.flatMap((id) => (this.rows.has(id) ? [this.rows.get(id)!] : []));
  }
  async recordApplied(target: IndexTarget, applied: readonly { messageId: number; version: number }[]) {
    for (const a of applied) this.applied.push({ target, messageId: a.messageId, version: a.version });
  }
  async countLive() {
    return [...this.rows.values()].filter((r) => !r.deletedAt).length;
  }
  async drain(
    opts: { limit: number; ids?: readonly number[] },
    publish: (e: readonly OutboxEntry[]) => Promise<Set<number>>,
  ) {
    const pending = this.outbox
      .filter((e) => !e.sent && (!opts.ids || opts.ids.includes(e.id)))
      .slice(0, opts.limit);
    let ok = new Set<number>();
    try {
      ok = await publish(pending);
    } catch {
      ok = new Set();
    }
    for (const e of pending) if (ok.has(e.id)) e.sent = true;
    return { sent: ok.size, failed: pending.length - ok.size };
  }
  async countPending() {
    return this.outbox.filter((e) => !e.sent).length;
  }
}

export class MemoryPublisher implements JobPublisher {
  /** Every accepted job, flattened. */
  published: { target: IndexTarget; job: IndexJob }[] = [];
  /** Every accepted message, as sent. */
  messages: { target: IndexTarget; id: string; jobs: readonly IndexJob[] }[] = [];
  /** Message ids to report as Failed (as SendMessageBatch does per entry). */
  rejectIds = new Set<string>();
  down = false;
  constructor(readonly jobsPerMessage = 25) {}
  async publish(target: IndexTarget, messages: readonly JobMessage[]) {
    if (this.down) throw new Error("queue unavailable");
    const ok = new Set<string>();
    for (const m of messages) {
      if (this.rejectIds.has(m.id)) continue;
      this.messages.push({ target, id: m.id, jobs: m.jobs });
      for (const job of m.jobs) this.published.push({ target, job });
      ok.add(m.id);
    }
    return ok;
  }
}

export class MemoryKeywordIndex implements KeywordIndex {
  docs = new Map<number, { version: number; content: string }>();
  failIds = new Set<number>();
  async upsert(rows: readonly StoredMessage[]): Promise<IndexWriteOutcome[]> {
    return rows.map((r) => {
      if (this.failIds.has(r.id)) return { messageId: r.id, ok: false, retryable: true, error: "boom" };
      const cur = this.docs.get(r.id);
      if (!cur || cur.version < r.version) this.docs.set(r.id, { version: r.version, content: r.content });
      return { messageId: r.id, ok: true };
    });
  }
  async remove(jobs: readonly { messageId: number; version: number }[]) {
    return jobs.map((j) => {
      this.docs.delete(j.messageId);
      return { messageId: j.messageId, ok: true };
    });
  }
  async count() {
    return this.docs.size;
  }
}

export class MemoryVectorIndex implements VectorIndex {
  vectors = new Map<number, number[]>();
  async upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]) {
    for (const r of rows) this.vectors.set(r.message.id, r.embedding);
  }
  async remove(ids: readonly number[]) {
    for (const id of ids) this.vectors.delete(id);
  }
  async query(): Promise<LegHit[]> {
    return [];
  }
  async count() {
    return this.vectors.size;
  }
}

/** Deterministic stand-in for unit tests of orchestration only; semantic quality is tested with ONNX. */
export class FixedEmbedder implements Embedder {
  readonly modelId = "fixed-test";
  calls = 0;
  constructor(
    readonly dimension = 4,
    private readonly wrongFor = new Set<string>(),
  ) {}
  async embed(texts: readonly string[]) {
    this.calls++;
    return texts.map((t) => {
      const d = this.wrongFor.has(t) ? this.dimension + 1 : this.dimension;
      return Array.from({ length: d }, (_, i) => (i === t.length % d ? 1 : 0));
    });
  }
  async embedQuery(text: string) {
    const [vector] = await this.embed([text]);
    return vector!;
  }
  embedForSearch(texts: readonly string[]) {
    return this.embed(texts);
  }
}

/** Gap detection over plain arrays: exact nearest neighbours, filters and more-like-this in memory. */
export class MemoryGapPorts implements GapDetectionPorts {
  readonly rows: WindowMessage[] = [];
  readonly vectorOf = new Map<number, Float32Array>();
  /** Extra vectors outside the window (older messages in the collection). */
  readonly outside = new Map<number, Float32Array>();
  filteredQueries = 0;

  add(m: Partial<WindowMessage> & { id: number; vector?: readonly number[] }): void {
    const { vector, ...rest } = m;
    this.rows.push({
      channel: "#a",
      author: "a@x.com",
      content: `message ${m.id}`,
      timestamp: new Date("2026-01-02T00:00:00Z"),
      threadId: null,
      permalink: null,
      ...rest,
    });
    if (vector) this.vectorOf.set(m.id, Float32Array.from(vector));
  }

  private all(): { messageId: number; vector: Float32Array }[] {
    return [...this.vectorOf, ...this.outside].map(([messageId, vector]) => ({ messageId, vector }));
  }

  readonly messages = {
    windowMessages: async (w: GapWindow) =>
      this.rows.filter((m) => m.timestamp >= w.since && m.timestamp < w.until),
    newestMessageAt: async () =>
      this.rows.length === 0 ? null : new Date(Math.max(...this.rows.map((m) => m.timestamp.getTime()))),
  };

  readonly vectors = {
    vectorsOf: async (ids: readonly number[]) =>
      new Map(ids.flatMap((id) => (this.vectorOf.has(id) ? [[id, this.vectorOf.get(id)!] as const] : []))),
    nearestMany: async (queries: readonly Float32Array[], limit: number) =>
      queries.map((q) => exactNearest(q, this.all(), limit)),
    count: async () => this.vectorOf.size + this.outside.size,
  };

  readonly semantic = {
    query: async (embedding: number[], filters: SearchFilters, limit: number) => {
      this.filteredQueries++;
      const byId = new Map(this.rows.map((m) => [m.id, m]));
      const allowed = this.all().filter(({ messageId }) => {
        const m = byId.get(messageId);
        if (!m) return false;
        if (filters.channels && !filters.channels.includes(m.channel)) return false;
        if (filters.from && m.timestamp < filters.from) return false;
        return !(filters.to && m.timestamp > filters.to);
      });
      return exactNearest(embedding, allowed, limit);
    },
  };

  /** More-like-this: messages sharing at least two label words, by shared count. */
  readonly keyword = {
    moreLikeThis: async (queries: readonly MoreLikeThisQuery[]) =>
      queries.map((q) => {
        const like = new Set(
          q.like.flatMap((id) => [...labelWords(this.rows.find((m) => m.id === id)?.content ?? "")]),
        );
        return this.rows
          .filter(
            (m) =>
              !q.excludeChannels.includes(m.channel) &&
              m.timestamp >= q.window.since &&
              m.timestamp < q.window.until &&
              !q.like.includes(m.id),
          )
          .map((m) => ({
            messageId: m.id,
            score: [...labelWords(m.content)].filter((w) => like.has(w)).length,
          }))
          .filter((h) => h.score >= 2)
          .sort((a, b) => b.score - a.score || a.messageId - b.messageId)
          .slice(0, q.size);
      }),
  };
}
