import type {
  IndexJob,
  IndexTarget,
  LegHit,
  MessageInput,
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
}
