import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../../functions/shared/clients";
import { container } from "../../functions/shared/container";
import { type Namespace, startNamespace } from "../../local/namespace";
import { type SlackPayload, slackFixture } from "../helpers/slack-fixtures";
import { waitUntil } from "../helpers/wait";
import { expectConverged, expectNoDeadLetters, recordFault, silenceLogs } from "./helpers";

/**
 * Slack edits and deletes out of order, each delivered twice (Slack's retries), through the real
 * ingest queue and consumer: the newest Slack time wins, a delete is final, a retry has one effect.
 */
const message = (eventId: string, text: string, ts: string): SlackPayload => {
  const p = slackFixture("message");
  Object.assign(p, { event_id: eventId });
  Object.assign(p.event, { text, ts, event_ts: ts });
  return p;
};
const edit = (eventId: string, text: string, editTs: string, ts: string): SlackPayload => {
  const p = slackFixture("message-changed");
  p.event_id = eventId;
  p.event.ts = editTs;
  Object.assign(p.event.message, { text, ts, edited: { user: "U123ABC456", ts: editTs } });
  return p;
};
const del = (eventId: string, deleteTs: string, ts: string): SlackPayload => {
  const p = slackFixture("message-deleted");
  p.event_id = eventId;
  Object.assign(p.event, { ts: deleteTs, deleted_ts: ts });
  return p;
};

describe("fault: out-of-order Slack edits and deletes", () => {
  let ns: Namespace;
  let restoreLogs: () => void;

  beforeAll(async () => {
    restoreLogs = silenceLogs();
    ns = await startNamespace({
      prefix: "f",
      label: "slack-order",
      visibilityTimeout: 2,
      maxReceiveCount: 1000,
    });
  });
  afterAll(async () => {
    await ns?.close();
    restoreLogs();
  });

  it("ends in the same state as in-order delivery: newest edit wins, deletes are final, retries count once", async () => {
    const A = "1700000000.000100";
    const B = "1700000000.000200";
    const C = "1700000000.000300";
    // Arrival order is the reverse of Slack's, and every event comes twice.
    const events = [
      del("EA3", "1700000300.000001", A),
      edit("EA2", "A edited", "1700000100.000001", A),
      message("EA1", "A original", A),
      edit("EB3", "B newest edit", "1700000200.000001", B),
      edit("EB2", "B older edit", "1700000100.000001", B),
      message("EB1", "B original", B),
      edit("EC2", "C edited", "1700000100.000001", C),
      message("EC1", "C original", C),
    ];
    const t0 = performance.now();
    const sqs = sqsClient(ns.config);
    for (const e of [...events, ...events]) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: ns.queues.ingest.url, MessageBody: JSON.stringify(e) }),
      );
    }
    await waitUntil(
      "every event applied",
      async () => {
        const r = await ns.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM processed_events");
        return Number(r.rows[0]!.n) === events.length;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    await expectConverged(container(), 2);
    const rows = await ns.db.pool.query<{ external_id: string; content: string; deleted: boolean }>(
      "SELECT external_id, content, deleted_at IS NOT NULL AS deleted FROM messages ORDER BY external_id",
    );
    const channel = (slackFixture("message").event as { channel: string }).channel;
    expect(rows.rows.filter((r) => !r.deleted).map((r) => [r.external_id, r.content])).toEqual([
      [`${channel}:${B}`, "B newest edit"],
      [`${channel}:${C}`, "C edited"],
    ]);
    await expectNoDeadLetters(sqs, ns.queues);
    recordFault({
      fault: "Slack edits/deletes in reverse order, every event delivered twice",
      accepted: "16 ingest-queue records (8 events x 2)",
      after:
        "8 events applied once; A deleted, B at its newest edit, C edited; 2 live in all stores, no drift, no DLQ",
      recoveryMs: Math.round(performance.now() - t0),
    });
  });
});
