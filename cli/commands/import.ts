import { ZipExportArchive } from "../../functions/adapters/slack/zip-export-archive";
import { AppError } from "../../functions/core/errors";
import { parseIsoDate } from "../../functions/core/search/search-request";
import {
  importSlackExport,
  type SlackImportProgress,
  type SlackImportReport,
} from "../../functions/core/slack/slack-import";
import { closeClients } from "../../functions/shared/clients";
import { type Container, createContainer } from "../../functions/shared/container";
import { parseFlags } from "../args";
import { createProgress, formatTable } from "../progress";

export const summary =
  "Import history: import slack-export FILE.zip [--source NAME] [--channels a,b] [--since DATE]";

const HELP = `Usage: trisearch import slack-export FILE.zip [options]

Imports a Slack export (Workspace settings -> Import/Export Data -> Export) through the same write
path as live Slack events: the same external ids (<channel>:<ts>), thread ids and subtype rules, so
importing twice, or after live events, changes nothing twice. It fills the directory (users.json,
channels.json, groups.json, mpims.json, dms.json) so results and filters show names. The running
workers (npm start) index what it writes. Streams: one day file is in memory at a time.

  --source NAME       source name (default SLACK_SOURCE_NAME, else the export's team id, as live events)
  --channels a,b      only these conversations (names, #names or ids)
  --since DATE        only messages at or after this ISO-8601 date or time
  --domain HOST       workspace domain for permalinks (default SLACK_WORKSPACE_DOMAIN, else found in the export)
  --batch N           messages per transaction (default 500)

Exit status: 0 when the import ran (damaged day files and bad messages are reported and skipped);
1 when nothing could be imported (not a zip, not a Slack export, or every file damaged).`;

/** Imports one export file with the container's stores; progress goes to `onProgress`. */
export async function importSlackExportFile(
  c: Container,
  file: string,
  opts: {
    sourceName?: string | undefined;
    channels?: string[] | undefined;
    since?: Date | undefined;
    workspaceDomain?: string | undefined;
    batchSize?: number | undefined;
    onProgress?: (p: SlackImportProgress) => void;
  } = {},
): Promise<SlackImportReport> {
  const archive = await ZipExportArchive.open(file);
  try {
    return await importSlackExport(
      {
        store: c.store,
        outbox: c.store,
        publisher: c.publisher,
        directory: c.directory,
        access: c.access,
        warn: c.warn,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      archive,
      {
        sourceName: opts.sourceName ?? c.config.SLACK_SOURCE_NAME,
        storeBots: c.config.SLACK_STORE_BOTS,
        channels: opts.channels,
        since: opts.since,
        workspaceDomain: opts.workspaceDomain ?? c.config.SLACK_WORKSPACE_DOMAIN,
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      },
    );
  } finally {
    archive.close();
  }
}

/** Nothing could be imported: every message failed or every file was damaged. */
export function nothingImported(r: SlackImportReport): boolean {
  return r.imported + r.unchanged === 0 && (r.failed > 0 || r.damagedFiles.length > 0);
}

function progressNote(p: SlackImportProgress, startedMs: number): string {
  const secs = (Date.now() - startedMs) / 1000;
  const rate = secs > 0 ? p.messages / secs : 0;
  const left = p.bytesDone > 0 && p.bytes > p.bytesDone ? (secs * (p.bytes - p.bytesDone)) / p.bytesDone : 0;
  const eta =
    left > 0 ? ` ETA ${left >= 60 ? `${Math.floor(left / 60)}m` : ""}${Math.round(left % 60)}s` : "";
  return `conversations ${p.conversationsDone}/${p.conversations}, ${p.messages} messages, ${Math.round(rate)} msg/s${eta}`;
}

export function formatImportReport(r: SlackImportReport): string {
  const lines = [
    `Imported into source slack:${r.source.name}${r.workspaceDomain ? ` (${r.workspaceDomain})` : ""}: ${r.conversations} conversations, ${r.files} day files, ${r.messages} messages read.`,
    "",
    formatTable([
      { outcome: "imported", messages: r.imported },
      { outcome: "unchanged", messages: r.unchanged },
      ...Object.entries(r.skipped)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([reason, n]) => ({ outcome: `skipped (${reason})`, messages: n })),
      { outcome: "failed", messages: r.failed },
    ]),
  ];
  if (r.failures.length > 0) {
    lines.push("", `Failed messages${r.failed > r.failures.length ? ` (first ${r.failures.length})` : ""}:`);
    for (const f of r.failures) lines.push(`  ${f.where}: ${f.reason}`);
  }
  if (r.damagedFiles.length > 0) {
    lines.push("", "Damaged files (skipped):");
    for (const f of r.damagedFiles) lines.push(`  ${f.name}: ${f.reason}`);
  }
  return lines.join("\n");
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {
      source: { type: "string" },
      channels: { type: "string" },
      since: { type: "string" },
      domain: { type: "string" },
      batch: { type: "string" },
    },
    HELP,
  );
  if (!flags) return 0;
  const [kind, file, ...extra] = flags.positionals;
  if (kind !== "slack-export" || !file || extra.length > 0) {
    console.error(`Expected: import slack-export FILE.zip\n\n${HELP}`);
    return 2;
  }
  const since = typeof flags.values.since === "string" ? parseIsoDate(flags.values.since) : undefined;
  if (since === null) {
    console.error("--since must be an ISO-8601 date or date-time (2024-01-31 or 2024-01-31T12:00:00Z)");
    return 2;
  }
  const batch = flags.values.batch === undefined ? undefined : Number(flags.values.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 5000)) {
    console.error("--batch must be an integer from 1 to 5000");
    return 2;
  }
  const channels =
    typeof flags.values.channels === "string"
      ? flags.values.channels
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean)
      : undefined;
  const started = Date.now();
  const bar = createProgress("import (MB)");
  try {
    const report = await importSlackExportFile(createContainer(), file, {
      sourceName: typeof flags.values.source === "string" ? flags.values.source : undefined,
      channels,
      since,
      workspaceDomain: typeof flags.values.domain === "string" ? flags.values.domain : undefined,
      batchSize: batch,
      onProgress: (p) =>
        bar.update(
          Math.round(p.bytesDone / 1e6),
          Math.max(1, Math.round(p.bytes / 1e6)),
          progressNote(p, started),
        ),
    });
    bar.finish();
    console.log(formatImportReport(report));
    return nothingImported(report) ? 1 : 0;
  } catch (err) {
    if (err instanceof AppError && err.status < 500) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    await closeClients();
  }
}
