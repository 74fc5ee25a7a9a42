/**
 * `npx tsx bench/import.ts [--messages 1000000]`: the Slack export importer on a generated export.
 * Writes a zip in Slack's export layout (20 channels, one file per channel and day, threads, edits,
 * bot messages, joins), then imports it in a child process into a fresh database and records that
 * process's peak RSS and messages/s. Report: bench/reports/import.json.
 *
 * The import's index jobs go to a counting publisher, not to ElasticMQ: the shared queue server
 * would hold two million jobs in its heap. Everything else is the real path (yauzl, the mapping,
 * applySourceUpserts in PostgreSQL, the outbox rows, the directory).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { PgDirectory } from "../functions/adapters/postgres/pg-directory";
import { PgMessageStore } from "../functions/adapters/postgres/pg-message-store";
import { ZipExportArchive } from "../functions/adapters/slack/zip-export-archive";
import type { JobPublisher } from "../functions/core/ports";
import { importSlackExport } from "../functions/core/slack/slack-import";
import { loadConfig } from "../functions/shared/config";
import { exportUser, json, writeZip } from "../test/helpers/slack-export";
import { createTestDatabase } from "../test/helpers/test-db";
import { loadAverage, seededRandom, writeReport } from "./helpers";

const CHANNELS = 20;
const PER_DAY = 100;
const USERS = 50;
const START = Date.UTC(2023, 0, 1) / 1000;
const WORDS =
  "deploy rollback kubernetes ingress postgres failover latency oauth token login mobile billing invoice refund incident pager alert dashboard migration schema index search cache redis queue worker retry timeout".split(
    " ",
  );

/** The export's files, produced lazily: ~1 KB of JSON per message never sits in memory at once. */
function* exportFiles(messages: number): Generator<{ name: string; content: string }> {
  const rand = seededRandom(7);
  const word = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const user = (i: number) => `U${String(i).padStart(8, "0")}`;
  yield {
    name: "users.json",
    content: json(Array.from({ length: USERS }, (_, i) => exportUser(user(i), `user${i}`, `User ${i}`))),
  };
  yield {
    name: "channels.json",
    content: json(
      Array.from({ length: CHANNELS }, (_, c) => ({
        id: `C${String(c).padStart(8, "0")}`,
        name: `channel-${c}`,
        is_archived: false,
      })),
    ),
  };
  const days = Math.ceil(messages / (CHANNELS * PER_DAY));
  let left = messages;
  for (let d = 0; d < days && left > 0; d++) {
    const date = new Date((START + d * 86_400) * 1000).toISOString().slice(0, 10);
    for (let c = 0; c < CHANNELS && left > 0; c++) {
      const day: Record<string, unknown>[] = [];
      let parentTs: string | null = null;
      for (let i = 0; i < PER_DAY && left > 0; i++, left--) {
        const ts = `${START + d * 86_400 + i * 600 + c}.${String(i * 10 + 1).padStart(6, "0")}`;
        const r = rand();
        const text = Array.from({ length: 8 + Math.floor(rand() * 20) }, word).join(" ");
        const base = { type: "message", user: user(Math.floor(rand() * USERS)), text, ts, team: "T0BENCH01" };
        if (r < 0.01)
          day.push({ ...base, subtype: "channel_join", text: `<@${base.user}> has joined the channel` });
        else if (r < 0.03)
          day.push({
            type: "message",
            subtype: "bot_message",
            bot_id: "B00000001",
            username: "deploybot",
            text,
            ts,
          });
        else if (r < 0.08)
          day.push({ ...base, edited: { user: base.user, ts: `${Number(ts.split(".")[0]) + 60}.000000` } });
        else if (r < 0.2 && parentTs) day.push({ ...base, thread_ts: parentTs, parent_user_id: base.user });
        else {
          day.push({
            ...base,
            client_msg_id: `00000000-0000-4000-8000-${String(d * 10_000 + c * 100 + i).padStart(12, "0")}`,
          });
          if (r > 0.9) parentTs = ts;
        }
      }
      yield { name: `channel-${c}/${date}.json`, content: json(day) };
    }
  }
}

/** The child: one import, then its own numbers on stdout. */
async function child(zip: string): Promise<void> {
  const cfg = loadConfig({ ...process.env, LOG_LEVEL: "ERROR" });
  // A pool of its own (not shared/clients.ts, which loads every store's SDK): the RSS is the importer's.
  const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: 2 });
  const store = new PgMessageStore(pool);
  let jobs = 0;
  const publisher: JobPublisher = {
    jobsPerMessage: cfg.JOBS_PER_MESSAGE,
    async publish(_target, messages) {
      jobs += messages.reduce((n, m) => n + m.jobs.length, 0);
      return new Set(messages.map((m) => m.id));
    },
  };
  const archive = await ZipExportArchive.open(zip);
  const started = process.hrtime.bigint();
  let lastLog = Date.now();
  const report = await importSlackExport(
    {
      store,
      outbox: store,
      publisher,
      directory: new PgDirectory(pool),
      onProgress: (p) => {
        if (Date.now() - lastLog < 10_000) return;
        lastLog = Date.now();
        const rss = Math.round(process.memoryUsage().rss / 1e6);
        console.error(
          `  ${p.messages} messages, ${Math.round((100 * p.bytesDone) / p.bytes)}% of bytes, rss ${rss} MB`,
        );
      },
    },
    archive,
    { storeBots: true },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  archive.close();
  await pool.end();
  process.stdout.write(
    `${JSON.stringify({ report, seconds, jobs, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: "string" }, child: { type: "string" } } });
  if (values.child) return child(values.child);
  const messages = Number(values.messages ?? 1_000_000);
  const dir = mkdtempSync(path.join(tmpdir(), "trisearch-bench-import-"));
  const db = await createTestDatabase("bench_import");
  try {
    const zip = path.join(dir, "export.zip");
    const genStart = Date.now();
    await writeZip(zip, exportFiles(messages));
    const zipMb = Math.round(statSync(zip).size / 1e6);
    console.error(
      `generated ${messages} messages in ${((Date.now() - genStart) / 1000).toFixed(0)} s: ${zip} (${zipMb} MB)`,
    );
    const loadBefore = loadAverage();
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(
        process.execPath,
        ["--import", "tsx", path.join(import.meta.dirname, "import.ts"), "--child", zip],
        {
          env: {
            ...process.env,
            DATABASE_URL: db.url,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          },
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let stdout = "";
      p.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      p.on("error", reject);
      p.on("exit", (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`import child exited ${code}`)),
      );
    });
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as {
      report: {
        messages: number;
        imported: number;
        unchanged: number;
        skipped: Record<string, number>;
        failed: number;
      };
      seconds: number;
      jobs: number;
      peakRssMb: number;
    };
    const rows = Number((await db.pool.query("SELECT count(*) AS n FROM messages")).rows[0].n);
    const report = {
      date: new Date().toISOString(),
      machine: "2 cores, shared with other agents' work",
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      export: { messages, channels: CHANNELS, zipMb, days: Math.ceil(messages / (CHANNELS * PER_DAY)) },
      import: {
        seconds: Math.round(result.seconds * 10) / 10,
        messagesPerSecond: Math.round(result.report.messages / result.seconds),
        peakRssMb: result.peakRssMb,
        targetPeakRssMb: 300,
        ...result.report,
        rowsInPostgres: rows,
        indexJobsPublished: result.jobs,
      },
    };
    console.log(JSON.stringify(report, null, 2));
    console.error(`report: ${await writeReport("import", report)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

await main();
