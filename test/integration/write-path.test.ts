import { ReceiveMessageCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { SqsJobPublisher } from "../../functions/adapters/sqs/sqs-job-publisher";
import { relayOutbox } from "../../functions/core/outbox-relay";
import type { JobPublisher } from "../../functions/core/ports";
import { chromaClient, openSearchClient, sqsClient } from "../../functions/shared/clients";
import { queueUrl } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { startTestApp, type TestApp } from "../helpers/local-app";
import { queueDepth } from "../helpers/sqs";
import { waitUntil } from "../helpers/wait";

type Accepted = { accepted: { external_id: string; message_id: number; status: string }[] };

describe("write path on the real local stack", () => {
  let t: TestApp;
  const counts = () => storeCounts(createContainer(t.config));
  const osDoc = async (id: number) => {
    const res = await openSearchClient(t.config).get(
      { index: t.config.OPENSEARCH_INDEX, id: String(id) },
      { ignore: [404] },
    );
    const body = res.body as { found?: boolean; _version?: number; _source?: { content: string } };
    return body.found ? { version: body._version, content: body._source?.content } : null;
  };
  const chromaDoc = async (id: number) => {
    const col = await chromaClient(t.config).getCollection({ name: t.config.CHROMA_COLLECTION });
    const res = await col.get({ ids: [`msg_${id}`], include: ["documents", "metadatas"] });
    return res.ids.length ? { content: res.documents[0], version: res.metadatas[0]?.version } : null;
  };
  const dbCount = async (sql: string) => Number((await t.db.pool.query(sql)).rows[0].n);

  beforeAll(async () => {
    // The outbox relay runs only when a test asks (runOnce): on its 500-ms timer it raced the tests
    // that drive the outbox themselves, and took their rows first under CPU load.
    t = await startTestApp("write", {
      maxReceiveCount: 3,
      visibilityTimeout: 1,
      manualSchedules: ["outboxRelay", "reconcile", "gaps", "membershipSync"],
    });
  });
  afterAll(async () => t?.close());

  it("ingests the demo set through POST /messages and all three stores agree within 30 s", async () => {
    const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES });
    expect(res.status).toBe(202);
    const accepted = (res.body as Accepted).accepted;
    expect(accepted).toHaveLength(DEMO_MESSAGES.length);
    expect(new Set(accepted.map((a) => a.status))).toEqual(new Set(["created"]));
    const final = await waitUntil("verify in sync", async () => {
      const c = await counts();
      return inSync(c) && c.postgres === DEMO_MESSAGES.length ? c : null;
    });
    const n = DEMO_MESSAGES.length;
    expect(final).toEqual({ postgres: n, opensearch: n, chroma: n, outboxPending: 0 });
    // The relay packs several jobs per SQS message: far fewer records than jobs were received.
    expect(t.app.pollers.keyword.counters.received).toBeLessThan(DEMO_MESSAGES.length / 2);
  });

  it("an identical re-send stores nothing, enqueues nothing and embeds nothing", async () => {
    // The first ingest's jobs must be gone from both queues first: with a 1-s visibility timeout, a
    // batch that took longer on a busy machine is received again, which is not the re-send's doing.
    const sqs = sqsClient(t.config);
    await waitUntil("keyword and vector queues drained", async () => {
      const depths = await Promise.all(
        (["keyword", "vector"] as const).map((q) => queueDepth(sqs, queueUrl(t.config, q))),
      );
      return depths.every((d) => d === 0) || null;
    });
    const before = {
      messages: await dbCount("SELECT max(version) + count(*) AS n FROM messages"),
      outbox: await dbCount("SELECT count(*) AS n FROM outbox"),
      keywordReceived: t.app.pollers.keyword.counters.received,
      vectorReceived: t.app.pollers.vector.counters.received,
    };
    const res = await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: DEMO_MESSAGES });
    expect(res.status).toBe(202);
    expect(new Set((res.body as Accepted).accepted.map((a) => a.status))).toEqual(new Set(["unchanged"]));
    await new Promise((r) => setTimeout(r, 2_000)); // give any stray job time to show up
    expect({
      messages: await dbCount("SELECT max(version) + count(*) AS n FROM messages"),
      outbox: await dbCount("SELECT count(*) AS n FROM outbox"),
      keywordReceived: t.app.pollers.keyword.counters.received,
      vectorReceived: t.app.pollers.vector.counters.received,
    }).toEqual(before);
  });

  it("an edit reaches OpenSearch and Chroma; back-to-back edits end at the newest version", async () => {
    const first = DEMO_MESSAGES[0]!;
    const edit = (content: string) =>
      t.api("POST", "/messages", { source: DEMO_SOURCE, messages: [{ ...first, content }] });
    const a = await edit("OAuth2 kickoff moved to Monday, PKCE still the plan.");
    const b = await edit("OAuth2 kickoff moved to Tuesday; PKCE and refresh token rotation.");
    const { message_id: id, status } = (b.body as Accepted).accepted[0]!;
    expect([(a.body as Accepted).accepted[0]!.status, status]).toEqual(["updated", "updated"]);
    const want = "OAuth2 kickoff moved to Tuesday; PKCE and refresh token rotation.";
    await waitUntil("both indexes hold the newest edit", async () => {
      const [os, ch] = [await osDoc(id), await chromaDoc(id)];
      return os?.content === want && ch?.content === want;
    });
    // Applied versions are recorded just after the index write: wait for them, then they must be exact.
    const row = await waitUntil("applied versions recorded", async () => {
      const r = (
        await t.db.pool.query("SELECT version, keyword_version, vector_version FROM messages WHERE id = $1", [
          id,
        ])
      ).rows[0];
      return r.keyword_version === r.version && r.vector_version === r.version ? r : null;
    });
    expect(row).toEqual({ version: "3", keyword_version: "3", vector_version: "3" });
    expect((await osDoc(id))?.version).toBe(3);
    // A stale job for an old version changes nothing: workers always write the current row.
    await new SqsJobPublisher(sqsClient(t.config), {
      keyword: queueUrl(t.config, "keyword"),
      vector: queueUrl(t.config, "vector"),
    }).publish("keyword", [{ id: "stale", jobs: [{ messageId: id, op: "upsert", version: 1 }] }]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await osDoc(id)).toEqual({ version: 3, content: want });
  });

  it("DELETE /messages/{id} removes the message from both indexes", async () => {
    const id = (
      (await t.api("POST", "/messages", { source: DEMO_SOURCE, messages: [DEMO_MESSAGES[5]!] }))
        .body as Accepted
    ).accepted[0]!.message_id;
    const res = await t.api("DELETE", `/messages/${id}`);
    expect(res).toEqual({ status: 202, body: { message_id: id, status: "deleted", version: 2 } });
    await waitUntil(
      "gone from both indexes",
      async () => (await osDoc(id)) === null && (await chromaDoc(id)) === null,
    );
    const c = await waitUntil("counts settle", async () => {
      const now = await counts();
      return inSync(now) ? now : null;
    });
    expect(c?.postgres).toBe(DEMO_MESSAGES.length - 1);
    expect((await t.api("DELETE", `/messages/${id}`)).body).toMatchObject({ status: "already_deleted" });
    expect((await t.api("DELETE", "/messages/987654")).status).toBe(404);
    expect((await t.api("DELETE", "/messages/abc")).status).toBe(400);
  });

  it("a poison record in a batch of 10 is the only one retried, and ends in the DLQ", async () => {
    const c = createContainer(t.config);
    const batch = Array.from({ length: 9 }, (_, i) => ({
      external_id: `poison-batch-${i}`,
      channel: "#platform",
      author: "oscar@company.com",
      content: `Canary deployment ${i} finished without errors`,
      timestamp: "2025-12-20T10:00:00Z",
    }));
    // Rows written straight to the store with their outbox rows marked sent, so only the batch
    // below (9 good jobs + 1 poison) can index them.
    const { outcomes } = await c.store.ingest(
      DEMO_SOURCE,
      batch.map((m) => ({ ...m, externalId: m.external_id, timestamp: new Date(m.timestamp) })),
    );
    await t.db.pool.query("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL");
    const failedBefore = t.app.pollers.keyword.counters.failedItems;
    await sqsClient(t.config).send(
      new SendMessageBatchCommand({
        QueueUrl: t.queues.keyword.url,
        // Both body shapes: packed `{jobs:[...]}` and the single job queued before packing existed.
        Entries: [
          ...outcomes.map((o, i) => {
            const job = { messageId: o.messageId, op: "upsert", version: o.version };
            return { Id: `ok${i}`, MessageBody: JSON.stringify(i % 2 === 0 ? { jobs: [job] } : job) };
          }),
          { Id: "poison", MessageBody: "{not json" },
        ],
      }),
    );
    await waitUntil("the 9 good records are indexed", async () => {
      const docs = await Promise.all(outcomes.map((o) => osDoc(o.messageId)));
      return docs.every((d) => d !== null);
    });
    const dead = await waitUntil(
      "the poison record in the DLQ",
      async () => {
        const res = await sqsClient(t.config).send(
          new ReceiveMessageCommand({
            QueueUrl: t.queues.keyword.dlqUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        return res.Messages?.length ? res.Messages : null;
      },
      { timeoutMs: 30_000 },
    );
    expect(dead?.map((m) => m.Body)).toEqual(["{not json"]);
    // Retried maxReceiveCount (3) times, alone: no good record was ever reported failed.
    expect(t.app.pollers.keyword.counters.failedItems - failedBefore).toBe(3);
  });

  it("an entry that SendMessageBatch reports as Failed stays in the outbox until the relay delivers it", async () => {
    const c = createContainer(t.config);
    const real = c.publisher;
    let dropped = 0;
    // SQS answered 200 but listed one entry under Failed: the same shape our publisher sees.
    const partial: JobPublisher = {
      jobsPerMessage: real.jobsPerMessage,
      async publish(target, messages) {
        const [first, ...rest] = messages;
        if (target === "vector" && first) dropped++;
        return real.publish(target, target === "vector" ? rest : messages);
      },
    };
    const { outcomes, outboxIds } = await c.store.ingest(DEMO_SOURCE, [
      {
        externalId: "relay-1",
        channel: "#billing",
        author: "trent@company.com",
        content: "Invoice numbering restarts every fiscal year",
        timestamp: new Date("2025-12-21T10:00:00Z"),
      },
    ]);
    const id = outcomes[0]!.messageId;
    const first = await relayOutbox({ outbox: c.store, publisher: partial }, { ids: outboxIds });
    expect(first).toEqual({ sent: 1, failed: 1 });
    expect(dropped).toBe(1);
    const pending = await t.db.pool.query(
      "SELECT target FROM outbox WHERE message_id = $1 AND sent_at IS NULL",
      [id],
    );
    expect(pending.rows).toEqual([{ target: "vector" }]);
    await waitUntil("keyword indexed via the accepted entry", async () => (await osDoc(id)) !== null);
    // The scheduled relay's next run picks the left-behind row up.
    const scheduled = (await t.app.schedules.outboxRelay.runOnce()) as { sent: number; failed: number };
    expect(scheduled.sent).toBeGreaterThanOrEqual(1);
    expect(scheduled.failed).toBe(0);
    await waitUntil("the relay delivered the vector job", async () => (await chromaDoc(id)) !== null);
    expect(
      await dbCount(`SELECT count(*) AS n FROM outbox WHERE message_id = ${id} AND sent_at IS NULL`),
    ).toBe(0);
  });

  it("bad input gets a 400 JSON error naming the field and stores nothing", async () => {
    const before = await dbCount("SELECT count(*) AS n FROM messages");
    const bad = await t.api("POST", "/messages", {
      source: DEMO_SOURCE,
      messages: [
        { ...DEMO_MESSAGES[1]!, external_id: "new-good" },
        { ...DEMO_MESSAGES[2]!, external_id: "x", content: "" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      error: { code: "validation_error", details: [{ path: "messages.1.content" }] },
    });
    const notJson = await t.api("POST", "/messages", "{oops");
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: "validation_error" } });
    expect((await t.api("POST", "/messages", "")).status).toBe(400);
    expect(await dbCount("SELECT count(*) AS n FROM messages")).toBe(before);
  });
});
