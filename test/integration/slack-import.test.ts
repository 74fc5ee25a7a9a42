import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatImportReport, importSlackExportFile, nothingImported } from "../../cli/commands/import";
import { inSync, storeCounts } from "../../cli/commands/verify";
import { parseImportMessage, runImportJob } from "../../functions/core/slack/slack-import-job";
import { createContainer } from "../../functions/shared/container";
import { importJobDeps } from "../../functions/shared/wiring/imports";
import { deliverSlackEvents, startTestApp, type TestApp } from "../helpers/local-app";
import { exportUser, json, writeZip } from "../helpers/slack-export";
import type { SlackPayload } from "../helpers/slack-fixtures";
import { waitUntil } from "../helpers/wait";

const SECRET = "import-signing-secret-51c0";
const TEAM = "T0EXPORT1";
const GENERAL = "C0GENERAL";
const RANDOM = "C0RANDOM1";
const SECRET_CH = "G0SECRET1";
const DM = "D0ALICEB1";

// Messages of the generated export. ts values are unique per channel.
const welcome = {
  type: "message",
  user: "U0ALICE01",
  text: "Welcome <@U0BOB0001> to <#C0RANDOM1|random> and the launch planning",
  ts: "1705312800.000100",
  team: TEAM,
  client_msg_id: "c1",
};
const parent = {
  type: "message",
  user: "U0ALICE01",
  text: "Thread: what blocks the Kubernetes upgrade?",
  ts: "1705312900.000200",
  thread_ts: "1705312900.000200",
  reply_count: 2,
  replies: [{ user: "U0BOB0001", ts: "1705313000.000300" }],
  team: TEAM,
};
const reply = {
  type: "message",
  user: "U0BOB0001",
  text: "The ingress controller needs a new chart",
  ts: "1705313000.000300",
  thread_ts: "1705312900.000200",
  parent_user_id: "U0ALICE01",
  team: TEAM,
};
const edited = {
  type: "message",
  user: "U0BOB0001",
  text: "Postgres failover drill moved to Thursday",
  ts: "1705313100.000400",
  edited: { user: "U0BOB0001", ts: "1705313400.000000" },
  team: TEAM,
};
const bot = {
  type: "message",
  subtype: "bot_message",
  bot_id: "B0DEPLOY1",
  username: "deploybot",
  text: "Deploy 4411 finished: api v2.3.1 is live",
  ts: "1705313200.000500",
};
const join = {
  type: "message",
  subtype: "channel_join",
  user: "U0CAROL01",
  text: "<@U0CAROL01> has joined the channel",
  ts: "1705313300.000600",
};
const fileShare = {
  type: "message",
  subtype: "file_share",
  user: "U0ALICE01",
  text: "",
  ts: "1705313500.000700",
  files: [
    {
      id: "F0PLAN001",
      name: "launch-plan.pdf",
      title: "Launch plan Q1",
      permalink: "https://acme-corp.slack.com/files/U0ALICE01/F0PLAN001/launch-plan.pdf",
    },
  ],
  team: TEAM,
};
const broadcast = {
  type: "message",
  subtype: "thread_broadcast",
  user: "U0BOB0001",
  text: "Upgrade is unblocked, chart merged",
  ts: "1705399200.000100",
  thread_ts: "1705312900.000200",
  team: TEAM,
};
const random1 = {
  type: "message",
  user: "U0BOB0001",
  text: "Lunch order: the ramen place again?",
  ts: "1705312800.000100",
  team: TEAM,
};
const secret1 = {
  type: "message",
  user: "U0ALICE01",
  text: "Salary review spreadsheet is in the private drive",
  ts: "1705312800.000900",
  team: TEAM,
};
const dm1 = {
  type: "message",
  user: "U0BOB0001",
  text: "Can you cover my on-call shift on Friday?",
  ts: "1705312850.000100",
  team: TEAM,
};
const noTs = { type: "message", user: "U0ALICE01", text: "this one has no ts" };

const STORED = [welcome, parent, reply, edited, bot, fileShare, broadcast, random1, secret1, dm1];

function exportFiles(): { name: string; content: string }[] {
  return [
    {
      name: "users.json",
      content: json([
        exportUser("U0ALICE01", "alice", "Alice"),
        exportUser("U0BOB0001", "bob", "Bob"),
        exportUser("U0CAROL01", "carol", "Carol"),
        exportUser("U0DEPLOYB", "deploybot", "", { is_bot: true }),
        exportUser("U0SAM0001", "sam.one", "Sam"),
        exportUser("U0SAM0002", "sam.two", "Sam"),
      ]),
    },
    {
      name: "channels.json",
      content: json([
        {
          id: GENERAL,
          name: "general",
          created: 1705000000,
          is_archived: false,
          is_general: true,
          members: ["U0ALICE01", "U0BOB0001"],
        },
        { id: RANDOM, name: "random", created: 1705000000, is_archived: true, members: ["U0BOB0001"] },
      ]),
    },
    {
      name: "groups.json",
      content: json([
        {
          id: SECRET_CH,
          name: "secret-plans",
          created: 1705000000,
          is_archived: false,
          members: ["U0ALICE01"],
        },
      ]),
    },
    {
      name: "dms.json",
      content: json([{ id: DM, created: 1705000000, members: ["U0ALICE01", "U0BOB0001"] }]),
    },
    { name: "integration_logs.json", content: json([]) },
    {
      name: "general/2024-01-15.json",
      content: json([welcome, parent, reply, edited, bot, join, fileShare, noTs]),
    },
    { name: "general/2024-01-16.json", content: json([broadcast]) },
    { name: "random/2024-01-15.json", content: json([random1]) },
    { name: "random/2024-01-16.json", content: '[{"type": "message", "user": "U0BOB0001", "text": "cut off' },
    { name: "secret-plans/2024-01-15.json", content: json([secret1]) },
    { name: `${DM}/2024-01-15.json`, content: json([dm1]) },
  ];
}

describe("Slack export import (real local stack)", () => {
  let t: TestApp;
  let dir: string;
  let zipPath: string;
  // A stand-in for S3's GetObject (path style: GET /<bucket>/<key>), serving uploaded files.
  const uploads = new Map<string, Buffer>();
  let s3: Server;
  const count = async (sql: string) => Number((await t.db.pool.query(sql)).rows[0].n);
  const deliver = (p: SlackPayload) => deliverSlackEvents(t, SECRET, p);
  let n = 0;
  const live = (event: Record<string, unknown>, eventTime = 1705400000): SlackPayload => ({
    type: "event_callback",
    team_id: TEAM,
    event_id: `EvLive${++n}`,
    event_time: eventTime,
    event,
  });
  interface Hit {
    author: string;
    author_name: string;
    channel: string;
    channel_name: string;
    content: string;
    permalink?: string | null;
  }
  const search = async (params: Record<string, string>) => {
    const res = await t.api("GET", `/search?${new URLSearchParams(params)}`);
    return res as {
      status: number;
      body: { results: Hit[]; error?: { details: { path: string; message: string }[] } };
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "trisearch-import-"));
    zipPath = path.join(dir, "acme-export.zip");
    await writeZip(zipPath, exportFiles());
    s3 = createServer((req, res) => {
      const body = uploads.get(decodeURIComponent((req.url ?? "").split("?")[0]!));
      if (!body) {
        res
          .writeHead(404, { "content-type": "application/xml" })
          .end("<Error><Code>NoSuchKey</Code></Error>");
        return;
      }
      res.writeHead(200, {
        "content-length": body.length,
        etag: '"etag-1"',
        "content-type": "application/zip",
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => s3.listen(0, "127.0.0.1", resolve));
    const s3Url = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
    t = await startTestApp("slack-import", {
      // Keyword context off: the mention test below checks the rendered content alone (with the
      // author in context, a search for a person also finds their own messages, as it should).
      env: { SLACK_SIGNING_SECRET: SECRET, S3_ENDPOINT: s3Url, CONTEXT_KEYWORD: "none" },
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => s3?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("imports channels, threads, edits, bot messages and a file share; skips the join; reports the bad message and the damaged day file", async () => {
    const report = await importSlackExportFile(createContainer(t.config), zipPath);
    expect(report).toMatchObject({
      source: { type: "slack", name: TEAM },
      workspaceDomain: "acme-corp.slack.com",
      conversations: 4,
      files: 5,
      messages: 12,
      imported: STORED.length,
      unchanged: 0,
      skipped: { "subtype:channel_join": 1 },
      failed: 1,
      damagedFiles: [{ name: "random/2024-01-16.json", reason: expect.stringMatching(/JSON/) }],
    });
    expect(report.failures).toEqual([
      {
        where: "general/2024-01-15.json message 8",
        reason: expect.stringMatching(/Invalid Slack message.*ts/),
      },
    ]);
    expect(nothingImported(report)).toBe(false);
    expect(formatImportReport(report)).toMatch(/skipped \(subtype:channel_join\)\s+1/);

    const rows = (
      await t.db.pool.query(
        `SELECT external_id, channel, author, content, thread_id, message_metadata AS meta, version::int
         FROM messages ORDER BY external_id`,
      )
    ).rows;
    const byId = new Map(rows.map((r) => [r.external_id, r]));
    expect(rows).toHaveLength(STORED.length);
    expect(byId.get(`${GENERAL}:${reply.ts}`)).toMatchObject({
      author: "U0BOB0001",
      thread_id: `${GENERAL}:${parent.ts}`,
      meta: { team_id: TEAM, ts: reply.ts, channel_type: "channel" },
    });
    expect(byId.get(`${GENERAL}:${edited.ts}`)?.meta.edited).toEqual({
      user: "U0BOB0001",
      ts: "1705313400.000000",
    });
    expect(byId.get(`${GENERAL}:${bot.ts}`)).toMatchObject({
      author: "deploybot",
      meta: { bot: true, bot_id: "B0DEPLOY1" },
    });
    expect(byId.get(`${GENERAL}:${fileShare.ts}`)).toMatchObject({
      content: "Launch plan Q1",
      meta: { files: 1, subtype: "file_share" },
    });
    expect(byId.get(`${GENERAL}:${broadcast.ts}`)?.thread_id).toBe(`${GENERAL}:${parent.ts}`);
    expect(byId.get(`${SECRET_CH}:${secret1.ts}`)?.meta.channel_type).toBe("group");
    expect(byId.get(`${DM}:${dm1.ts}`)?.meta.channel_type).toBe("im");
    expect(rows.every((r) => r.version === 1)).toBe(true);

    // The directory came with it.
    const users = (
      await t.db.pool.query(
        "SELECT user_id, name, display_name, is_bot FROM directory_users ORDER BY user_id",
      )
    ).rows;
    expect(users).toEqual([
      { user_id: "U0ALICE01", name: "alice", display_name: "Alice", is_bot: false },
      { user_id: "U0BOB0001", name: "bob", display_name: "Bob", is_bot: false },
      { user_id: "U0CAROL01", name: "carol", display_name: "Carol", is_bot: false },
      { user_id: "U0DEPLOYB", name: "deploybot", display_name: null, is_bot: true },
      { user_id: "U0SAM0001", name: "sam.one", display_name: "Sam", is_bot: false },
      { user_id: "U0SAM0002", name: "sam.two", display_name: "Sam", is_bot: false },
    ]);
    const conversations = (
      await t.db.pool.query(
        "SELECT conversation_id AS id, name, kind, archived FROM directory_conversations ORDER BY 1",
      )
    ).rows;
    expect(conversations).toEqual([
      { id: GENERAL, name: "general", kind: "public", archived: false },
      { id: RANDOM, name: "random", kind: "public", archived: true },
      { id: DM, name: null, kind: "im", archived: false },
      { id: SECRET_CH, name: "secret-plans", kind: "private", archived: false },
    ]);
    const source = (await t.db.pool.query("SELECT config FROM sources WHERE name = $1", [TEAM])).rows[0];
    expect(source.config).toEqual({ workspace_domain: "acme-corp.slack.com", team_id: TEAM });

    // The workers index what the import wrote, like any other write.
    await waitUntil("the import is indexed", async () =>
      inSync(await storeCounts(createContainer(t.config))),
    );
  });

  it("a second import of the same zip reports every message unchanged and writes nothing", async () => {
    const outboxBefore = await count("SELECT count(*) AS n FROM outbox");
    const report = await importSlackExportFile(createContainer(t.config), zipPath);
    expect(report).toMatchObject({ imported: 0, unchanged: STORED.length, failed: 1 });
    expect(await count("SELECT count(*) AS n FROM outbox")).toBe(outboxBefore);
    expect(await count("SELECT count(*) AS n FROM messages WHERE version <> 1")).toBe(0);
  });

  it("live events for the same messages afterwards change nothing", async () => {
    const outboxBefore = await count("SELECT count(*) AS n FROM outbox");
    const { team: _t1, ...welcomeEvent } = welcome;
    await deliver(live({ ...welcomeEvent, channel: GENERAL, channel_type: "channel", event_ts: welcome.ts }));
    const { team: _t2, ...replyEvent } = reply;
    await deliver(live({ ...replyEvent, channel: GENERAL, channel_type: "channel", event_ts: reply.ts }));
    // The original post of the edited message, then the edit itself, as Slack sent them at the time.
    const { edited: _e, team: _t3, ...original } = edited;
    await deliver(
      live({
        ...original,
        text: "Postgres failover drill moved to Wednesday",
        channel: GENERAL,
        channel_type: "channel",
      }),
    );
    await deliver(
      live({
        type: "message",
        subtype: "message_changed",
        channel: GENERAL,
        channel_type: "channel",
        ts: edited.edited.ts,
        event_ts: edited.edited.ts,
        message: {
          type: "message",
          user: edited.user,
          text: edited.text,
          ts: edited.ts,
          edited: edited.edited,
        },
      }),
    );
    const { team: _t4, ...dmEvent } = dm1;
    await deliver(live({ ...dmEvent, channel: DM, channel_type: "im", event_ts: dm1.ts }));
    expect(await count("SELECT count(*) AS n FROM outbox")).toBe(outboxBefore);
    expect(await count("SELECT count(*) AS n FROM messages WHERE version <> 1")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM messages")).toBe(STORED.length);
    expect(t.app.pollers.ingest.counters.failedItems).toBe(0);
  });

  it("a cut-off zip is a clear error before anything is written", async () => {
    const cut = path.join(dir, "cut.zip");
    writeFileSync(cut, readFileSync(zipPath).subarray(0, 900));
    const before = await count("SELECT count(*) AS n FROM outbox");
    await expect(importSlackExportFile(createContainer(t.config), cut)).rejects.toThrow(
      /cut\.zip is not a readable zip file/,
    );
    expect(await count("SELECT count(*) AS n FROM outbox")).toBe(before);
  });

  it("issue 16: the export's member lists decide who finds private channels and DMs; public channels are the workspace's", async () => {
    const sees = async (viewer: string, q: string, channel: string) => {
      const res = await search({ q, strategy: "bm25", viewer });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.results.some((h) => h.channel === channel);
    };
    expect(await sees("U0ALICE01", "salary review", SECRET_CH)).toBe(true);
    expect(await sees("U0BOB0001", "salary review", SECRET_CH)).toBe(false);
    expect(await sees("U0BOB0001", "on-call shift", DM)).toBe(true);
    expect(await sees("U0CAROL01", "on-call shift", DM)).toBe(false);
    // Carol is in users.json and in no channel's list: #general is public, so she reads it.
    expect(await sees("U0CAROL01", "kubernetes upgrade", GENERAL)).toBe(true);
    // Someone from no workspace reads none of it.
    expect(await sees("U0STRANGER", "kubernetes upgrade", GENERAL)).toBe(false);
  });

  it("author=@bob and channel=#general work in bm25, semantic and hybrid; hits carry names and permalinks", async () => {
    for (const strategy of ["bm25", "semantic", "hybrid"]) {
      // One result per message: the reply's own permalink is checked (hybrid groups threads by default).
      const res = await search({ q: "chart", strategy, author: "@bob", channel: "#general", group: "none" });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const hits = res.body.results;
      expect(hits.length, strategy).toBeGreaterThan(0);
      for (const h of hits)
        expect({ strategy, ...h }).toMatchObject({
          strategy,
          author: "U0BOB0001",
          author_name: "Bob",
          channel: GENERAL,
          channel_name: "general",
        });
      const replyHit = hits.find((h) => h.content === reply.text);
      expect(replyHit?.permalink, strategy).toBe(
        `https://acme-corp.slack.com/archives/${GENERAL}/p1705313000000300?thread_ts=${parent.ts}&cid=${GENERAL}`,
      );
    }
    const dm = await search({ q: "on-call shift", strategy: "bm25", author: "@Bob" });
    expect(dm.body.results.map((h) => [h.channel_name, h.permalink])).toEqual([
      [DM, `https://acme-corp.slack.com/archives/${DM}/p1705312850000100`],
    ]);
  });

  it("mentions are shown and keyword-searchable as names; the stored text keeps the markup", async () => {
    const res = await search({ q: "bob", strategy: "bm25" });
    expect(res.status).toBe(200);
    expect(res.body.results.map((h) => h.content)).toEqual([
      "Welcome @bob to #random and the launch planning",
    ]);
    const raw = await t.db.pool.query("SELECT content FROM messages WHERE external_id = $1", [
      `${GENERAL}:${welcome.ts}`,
    ]);
    expect(raw.rows).toEqual([{ content: welcome.text }]);
  });

  it("an ambiguous or unknown name is a 400 that says so", async () => {
    const sam = await search({ q: "plan", author: "@sam" });
    expect(sam.status).toBe(400);
    expect(sam.body.error?.details).toEqual([
      {
        path: "author",
        message: `"@sam" is ambiguous: it names U0SAM0001 (slack:${TEAM}), U0SAM0002 (slack:${TEAM}); use the id or add a source filter`,
      },
    ]);
    const nope = await search({ q: "plan", channel: "#no-such-channel" });
    expect(nope.status).toBe(400);
    expect(nope.body.error?.details).toEqual([
      {
        path: "channel",
        message: '"#no-such-channel" matches no conversation in the directory and no message',
      },
    ]);
  });

  it("a rename shows in results and filters without re-indexing a message", async () => {
    const outboxBefore = await count("SELECT count(*) AS n FROM outbox");
    const later = 1_767_000_000;
    await deliver(live({ type: "user_change", user: exportUser("U0BOB0001", "bob", "Robert") }, later));
    await deliver(live({ type: "channel_rename", channel: { id: GENERAL, name: "launch" } }, later));
    for (const strategy of ["bm25", "semantic", "hybrid"]) {
      const res = await search({ q: "chart", strategy, author: "@robert", channel: "#launch" });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.results.length, strategy).toBeGreaterThan(0);
      expect(res.body.results.every((h) => h.author_name === "Robert" && h.channel_name === "launch")).toBe(
        true,
      );
    }
    const old = await search({ q: "chart", channel: "#general" });
    expect(old.status).toBe(400);
    expect(await count("SELECT count(*) AS n FROM outbox")).toBe(outboxBefore);
  });

  it("AWS: an export uploaded to S3 is imported in runs cut short by the deadline, each resuming where the last stopped", async () => {
    const upload = path.join(dir, "ops.zip");
    const day = (d: string, text: string) => ({
      name: `ops/2024-02-0${d}.json`,
      content: json([{ type: "message", user: "U0ALICE01", text, ts: `170675${d}000.000100`, team: TEAM }]),
    });
    await writeZip(upload, [
      { name: "users.json", content: json([exportUser("U0ALICE01", "alice", "Alice")]) },
      { name: "channels.json", content: json([{ id: "C0OPS0001", name: "ops", is_archived: false }]) },
      day("1", "Rotated the database credentials"),
      day("2", "Paged for the disk alert on the search nodes"),
      day("3", "Post-mortem notes for the outage are up"),
    ]);
    uploads.set("/trisearch-imports/exports/ops export.zip", readFileSync(upload));
    const notification = JSON.stringify({
      Records: [
        {
          eventName: "ObjectCreated:Put",
          s3: {
            bucket: { name: "trisearch-imports" },
            object: { key: "exports/ops+export.zip", eTag: "etag-1" },
          },
        },
      ],
    });
    const [object] = parseImportMessage(notification);
    expect(object).toEqual({ bucket: "trisearch-imports", key: "exports/ops export.zip", etag: "etag-1" });
    const c = createContainer(t.config);
    // The deadline is near after the first day file: the run stops and queues its continuation,
    // which the local runtime's slack-import consumer (the import queue) picks up and finishes.
    let asked = 0;
    const first = await runImportJob(
      importJobDeps({ pg: c, queues: c, imports: c, runtime: c }, () => (++asked <= 1 ? 600_000 : 10_000)),
      object!,
      { storeBots: true },
    );
    expect(first).toMatchObject({ complete: false, imported: 1, files: 1 });
    const ops = () => count("SELECT count(*) AS n FROM messages WHERE channel = 'C0OPS0001'");
    await waitUntil("the continuation imported the rest", async () => (await ops()) === 3);
    const done = await t.db.pool.query(
      "SELECT file FROM import_files_done WHERE run_key = $1 ORDER BY file",
      ["s3://trisearch-imports/exports/ops export.zip#etag-1"],
    );
    expect(done.rows.map((r) => r.file)).toEqual([
      "ops/2024-02-01.json",
      "ops/2024-02-02.json",
      "ops/2024-02-03.json",
    ]);
    expect(t.app.pollers.import.counters.failedItems).toBe(0);
  });

  it("--channels and --since narrow the import; an unknown channel is a clear error", async () => {
    const c = createContainer(t.config);
    const only = await importSlackExportFile(c, zipPath, {
      channels: ["#general"],
      since: new Date("2024-01-16T00:00:00Z"),
    });
    // The message without a ts cannot be placed in time: it fails again.
    expect(only).toMatchObject({ conversations: 1, unchanged: 1, imported: 0, failed: 1 });
    // (The rename above: the import's channels.json is older than the rename event, so it stays.)
    expect(
      (
        await t.db.pool.query("SELECT name FROM directory_conversations WHERE conversation_id = $1", [
          GENERAL,
        ])
      ).rows,
    ).toEqual([{ name: "launch" }]);
    expect(only.skipped["before --since"]).toBe(7);
    await expect(importSlackExportFile(c, zipPath, { channels: ["nope"] })).rejects.toThrow(
      /--channels: no conversation "nope" in this export/,
    );
  });

  it("a file that is not a zip, a zip of something else: a clear message and exit status 1", () => {
    const notZip = path.join(dir, "notes.zip");
    writeFileSync(notZip, "just some text, not a zip archive");
    const cli = (file: string) =>
      spawnSync(process.execPath, ["cli/bin.mjs", "import", "slack-export", file], {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      });
    const a = cli(notZip);
    expect({ status: a.status, stderr: a.stderr }).toEqual({
      status: 1,
      stderr: expect.stringMatching(/notes\.zip is not a readable zip file/),
    });
    return (async () => {
      const other = path.join(dir, "photos.zip");
      await writeZip(other, [
        { name: "IMG_0001.jpg", content: Buffer.from([0xff, 0xd8, 0xff]) },
        { name: "notes/readme.txt", content: "holiday photos" },
      ]);
      const b = cli(other);
      expect({ status: b.status, stderr: b.stderr }).toEqual({
        status: 1,
        stderr: expect.stringMatching(
          /Not a Slack export: no users\.json or channels\.json at its top level/,
        ),
      });
    })();
  });
});
