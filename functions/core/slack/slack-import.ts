import type { AccessChange, AccessStore } from "../access/access";
import type {
  ConversationKind,
  ConversationPatch,
  DirectoryStore,
  DirectoryUser,
} from "../directory/directory";
import { toAppError, ValidationError } from "../errors";
import type { SourceRef } from "../model";
import { publishCommitted } from "../outbox-relay";
import type { JobPublisher, OutboxStore, SourceChangeBatchStore, SourceUpsert } from "../ports";
import { slackConversation, slackUser } from "./slack-directory";
import { CHANNEL_TYPE, mapExportedMessage, slackTsToMicros } from "./slack-events";
import { audienceOf } from "./slack-membership";

/**
 * Imports a Slack export (the zip a workspace admin downloads: users.json, channels.json and,
 * where present, groups.json, dms.json, mpims.json, then one folder per conversation with one
 * JSON array of messages per day) through the write path of live Slack events: the same mapping,
 * external ids, subtype rules and decisions, so importing twice, or after live events, changes
 * nothing twice. One day file is in memory at a time.
 */

export interface ArchiveEntry {
  readonly name: string;
  /** Uncompressed bytes (progress and ETA are measured in them). */
  readonly size: number;
  readonly modified: Date;
}

/** The export's files: listed up front, each read on demand. */
export interface ExportArchive {
  readonly entries: readonly ArchiveEntry[];
  /** The entry's text; throws when the entry is damaged. */
  readText(name: string): Promise<string>;
}

export interface SlackImportOptions {
  /** Source name; default SLACK_SOURCE_NAME, else the export's team id (as live events). */
  readonly sourceName?: string | undefined;
  readonly storeBots: boolean;
  /** Only these conversations (names, #names or ids). */
  readonly channels?: readonly string[] | undefined;
  /** Only messages at or after this time. */
  readonly since?: Date | undefined;
  /** Overrides the domain found in the export (file permalinks). */
  readonly workspaceDomain?: string | undefined;
  /** Messages per transaction (default 500). */
  readonly batchSize?: number;
  /** Day files already imported by an earlier run (resume): skipped. */
  readonly skipFiles?: ReadonlySet<string>;
  /** Asked between day files: true stops the run after committing what it has (a deadline). */
  readonly shouldStop?: () => boolean;
}

export interface SlackImportProgress {
  readonly conversationsDone: number;
  readonly conversations: number;
  readonly messages: number;
  readonly bytesDone: number;
  readonly bytes: number;
}

export interface SlackImportReport {
  source: SourceRef;
  workspaceDomain: string | null;
  conversations: number;
  files: number;
  /** Message objects read from day files. */
  messages: number;
  /** Created or changed. */
  imported: number;
  /** Already stored as the export has it (or newer). */
  unchanged: number;
  /** Not messages to store, by reason (`subtype:channel_join`, `bot_message`, `empty`, `before --since`...). */
  skipped: Record<string, number>;
  /** Messages that could not be read, with the reason (the first 100; `failed` counts all). */
  failed: number;
  failures: { where: string; reason: string }[];
  /** Day or list files that could not be read at all: reported and skipped. */
  damagedFiles: { name: string; reason: string }[];
  /** False when shouldStop ended the run early: run again with the done files skipped. */
  complete: boolean;
}

export interface SlackImportDeps {
  readonly store: SourceChangeBatchStore;
  readonly outbox: OutboxStore;
  readonly publisher: JobPublisher;
  readonly directory: DirectoryStore;
  /** Who may read which conversation: each listed conversation's audience and `members`. */
  readonly access?: AccessStore;
  readonly warn?: (message: string, err: unknown) => void;
  readonly onProgress?: (p: SlackImportProgress) => void;
  /** Called with day files whose messages are committed (a resumable run records them). */
  readonly onFilesDone?: (names: readonly string[]) => Promise<void>;
}

/** The day files each import run has committed, so a run cut short resumes after them. */
export interface ImportProgressStore {
  doneFiles(runKey: string): Promise<Set<string>>;
  markDone(runKey: string, files: readonly string[]): Promise<void>;
}

/**
 * An import that can be cut short and resumed: the files an earlier run of `runKey` committed are
 * skipped, each batch's files are recorded as it commits, and `shouldStop` (a deadline) ends the
 * run between files with `complete: false`; running it again continues where it stopped.
 */
export async function resumeSlackImport(
  deps: Omit<SlackImportDeps, "onFilesDone"> & { readonly progress: ImportProgressStore },
  archive: ExportArchive,
  runKey: string,
  opts: Omit<SlackImportOptions, "skipFiles">,
): Promise<SlackImportReport> {
  const skipFiles = await deps.progress.doneFiles(runKey);
  return importSlackExport(
    { ...deps, onFilesDone: (names) => deps.progress.markDone(runKey, names) },
    archive,
    { ...opts, skipFiles },
  );
}

/** A conversation object's `members` (user ids), or undefined when it has none. */
function exportedMembers(raw: unknown): string[] | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const members = (raw as { members?: unknown }).members;
  return Array.isArray(members) && members.every((m) => typeof m === "string") ? members : undefined;
}

/** A listed conversation's audience (by its list) and its member list as of the list file. */
function exportedAccess(source: SourceRef, c: Conversation): AccessChange[] {
  const at = c.listedAt;
  return [
    { kind: "audience", source, conversation: c.id, audience: audienceOf(c.kind), at },
    ...(c.members
      ? [{ kind: "members" as const, source, conversation: c.id, principals: c.members, at }]
      : []),
  ];
}

const LISTS: readonly { file: string; kind: ConversationKind }[] = [
  { file: "channels.json", kind: "public" },
  { file: "groups.json", kind: "private" },
  { file: "mpims.json", kind: "mpim" },
  { file: "dms.json", kind: "im" },
];
const DAY_FILE = /^(.+)\/(\d{4}-\d{2}-\d{2})\.json$/;
const MAX_FAILURES_LISTED = 100;

interface Conversation {
  readonly id: string;
  readonly name: string | null;
  readonly kind: ConversationKind;
  readonly archived?: boolean;
  /** The export's folder: the name (channels, groups, mpims) or the id (DMs). */
  readonly folder: string;
  /** The conversation's `members` as the export lists them (absent: the export does not say). */
  readonly members?: readonly string[];
  /** When the list file was written: the time the member list was true at. */
  readonly listedAt: Date;
}

export async function importSlackExport(
  deps: SlackImportDeps,
  archive: ExportArchive,
  opts: SlackImportOptions,
): Promise<SlackImportReport> {
  const root = exportRoot(archive);
  const damagedFiles: SlackImportReport["damagedFiles"] = [];
  const readJson = async (name: string): Promise<unknown> => {
    try {
      return JSON.parse(await archive.readText(name));
    } catch (err) {
      damagedFiles.push({ name, reason: toAppError(err).message });
      return undefined;
    }
  };
  const has = (file: string) => archive.entries.some((e) => e.name === root + file);
  const asOf = (file: string) => archive.entries.find((e) => e.name === root + file)?.modified ?? new Date();

  const rawUsers = has("users.json") ? await readJson(`${root}users.json`) : undefined;
  const users: DirectoryUser[] = Array.isArray(rawUsers)
    ? rawUsers.flatMap((u) => {
        const user = slackUser(u);
        return user ? [user] : [];
      })
    : [];
  const conversations: Conversation[] = [];
  for (const list of LISTS) {
    if (!has(list.file)) continue;
    const raw = await readJson(root + list.file);
    if (raw === undefined) continue;
    if (!Array.isArray(raw)) {
      damagedFiles.push({ name: root + list.file, reason: "not a JSON array of conversations" });
      continue;
    }
    for (const c of raw) {
      const patch = slackConversation(c, list.kind);
      if (!patch) continue;
      const name = patch.name ?? null;
      const members = exportedMembers(c);
      conversations.push({
        id: patch.id,
        name,
        kind: list.kind,
        ...(patch.archived !== undefined ? { archived: patch.archived } : {}),
        folder: list.kind === "im" ? patch.id : (name ?? patch.id),
        ...(members ? { members } : {}),
        listedAt: asOf(list.file),
      });
    }
  }

  const teamId =
    (Array.isArray(rawUsers) ? teamOf(rawUsers) : undefined) ?? (await firstMessageTeam(archive, root));
  const sourceName = opts.sourceName ?? teamId;
  if (!sourceName)
    throw new ValidationError("The export does not say which workspace it is from: pass --source NAME");
  const source: SourceRef = { type: "slack", name: sourceName };

  if (users.length > 0) await deps.directory.apply({ kind: "users", source, users, at: asOf("users.json") });
  if (conversations.length > 0) {
    const patches = conversations.map(
      ({ folder: _folder, members: _members, listedAt: _listedAt, ...patch }): ConversationPatch => patch,
    );
    await deps.directory.apply({
      kind: "conversations",
      source,
      conversations: patches,
      at: asOf("channels.json"),
    });
  }

  // Audiences and member lists before any message: nothing is searchable under the wrong audience.
  await deps.access?.apply(conversations.flatMap((c) => exportedAccess(source, c)));

  const selected = selectConversations(conversations, opts.channels);
  const byFolder = new Map(selected.map((c) => [c.folder, c]));
  const allFolders = new Map(conversations.map((c) => [c.folder, c]));
  // A date-named file is the exporter's local day: a day before --since may hold later messages.
  const sinceDay = opts.since ? new Date(opts.since.getTime() - 86_400_000).toISOString().slice(0, 10) : null;
  const dayFiles = archive.entries
    .filter((e) => e.name.startsWith(root))
    .flatMap((e) => {
      const m = DAY_FILE.exec(e.name.slice(root.length));
      return m ? [{ entry: e, folder: m[1]!, day: m[2]! }] : [];
    });
  const files = dayFiles
    .filter((f) => {
      if (!allFolders.has(f.folder)) {
        damagedFiles.push({
          name: f.entry.name,
          reason: `folder ${f.folder} is not listed in channels.json, groups.json, mpims.json or dms.json`,
        });
        return false;
      }
      return byFolder.has(f.folder) && (sinceDay === null || f.day >= sinceDay);
    })
    .sort((a, b) => (a.folder === b.folder ? a.day.localeCompare(b.day) : a.folder.localeCompare(b.folder)));

  const report: SlackImportReport = {
    source,
    workspaceDomain: opts.workspaceDomain ?? null,
    conversations: new Set(files.map((f) => f.folder)).size,
    files: 0,
    messages: 0,
    imported: 0,
    unchanged: 0,
    skipped: {},
    failed: 0,
    failures: [],
    damagedFiles,
    complete: true,
  };
  const skip = (reason: string) => {
    report.skipped[reason] = (report.skipped[reason] ?? 0) + 1;
  };
  const fail = (where: string, reason: string) => {
    report.failed++;
    if (report.failures.length < MAX_FAILURES_LISTED) report.failures.push({ where, reason });
  };
  const bytes = files.reduce((n, f) => n + f.entry.size, 0);
  let bytesDone = 0;
  let foldersDone = 0;
  let lastFolder: string | null = null;
  const sinceUs = opts.since ? BigInt(opts.since.getTime()) * 1000n : null;
  const batchSize = opts.batchSize ?? 500;
  let batch: SourceUpsert[] = [];
  // Day files whose messages are in `batch`: done (for a resumed run) once it commits.
  let pendingFiles: string[] = [];

  const flush = async () => {
    const { outcomes, outboxIds } =
      batch.length > 0 ? await deps.store.applySourceUpserts(batch) : { outcomes: [], outboxIds: [] };
    batch = [];
    if (pendingFiles.length > 0) await deps.onFilesDone?.(pendingFiles);
    pendingFiles = [];
    for (const o of outcomes) {
      if (o.status === "created" || o.status === "updated") report.imported++;
      else if (o.status === "ignored_deleted") skip("deleted in Slack");
      else report.unchanged++;
    }
    await publishCommitted(deps, outboxIds);
  };

  for (const f of files) {
    if (opts.shouldStop?.()) {
      report.complete = false;
      break;
    }
    if (lastFolder !== null && f.folder !== lastFolder) foldersDone++;
    lastFolder = f.folder;
    const conversation = byFolder.get(f.folder)!;
    if (opts.skipFiles?.has(f.entry.name)) {
      bytesDone += f.entry.size;
      continue;
    }
    const day = await readJson(f.entry.name);
    if (day !== undefined && !Array.isArray(day))
      damagedFiles.push({ name: f.entry.name, reason: "not a JSON array of messages" });
    if (Array.isArray(day)) {
      report.files++;
      const ctx = {
        eventId: f.entry.name,
        teamId: teamId ?? sourceName,
        source,
        channel: conversation.id,
        channelType: CHANNEL_TYPE[conversation.kind],
        opts: { storeBots: opts.storeBots },
      };
      day.forEach((raw: unknown, i: number) => {
        report.messages++;
        const where = `${f.entry.name} message ${i + 1}`;
        try {
          const ts = (raw as { ts?: unknown } | null)?.ts;
          if (sinceUs !== null && typeof ts === "string" && slackTsToMicros(ts) < sinceUs) {
            skip("before --since");
            return;
          }
          report.workspaceDomain ??= domainOf(raw);
          const op = mapExportedMessage(raw, ctx);
          if (op.kind === "ignore") skip(op.reason);
          else if (op.change.kind === "upsert") batch.push(op.change);
        } catch (err) {
          const e = toAppError(err);
          const detail = e.details?.map((d) => `${d.path}: ${d.message}`).join("; ");
          fail(where, detail ? `${e.message} (${detail})` : e.message);
        }
      });
    }
    pendingFiles.push(f.entry.name);
    if (batch.length >= batchSize) await flush();
    bytesDone += f.entry.size;
    deps.onProgress?.({
      conversationsDone: foldersDone,
      conversations: report.conversations,
      messages: report.messages,
      bytesDone,
      bytes,
    });
  }
  await flush();
  if (files.length > 0) foldersDone++;
  deps.onProgress?.({
    conversationsDone: foldersDone,
    conversations: report.conversations,
    messages: report.messages,
    bytesDone,
    bytes,
  });
  if (report.workspaceDomain)
    await deps.directory.setSourceConfig(source, {
      workspace_domain: report.workspaceDomain,
      ...(teamId ? { team_id: teamId } : {}),
    });
  return report;
}

/**
 * Where the export's files are: the zip's top level, or one folder that holds them all (some
 * tools re-zip the unpacked folder). No users.json or channels.json there: not a Slack export.
 */
function exportRoot(archive: ExportArchive): string {
  const markers = archive.entries
    .map((e) => /^(?:([^/]+)\/)?(users|channels)\.json$/.exec(e.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[1] ? `${m[1]}/` : ""))
    .sort((a, b) => a.length - b.length);
  const root = markers[0];
  if (root === undefined) {
    const sample = archive.entries
      .slice(0, 5)
      .map((e) => e.name)
      .join(", ");
    throw new ValidationError(
      `Not a Slack export: no users.json or channels.json at its top level (it holds ${archive.entries.length} files${sample ? `: ${sample}${archive.entries.length > 5 ? ", ..." : ""}` : ""})`,
    );
  }
  return root;
}

function teamOf(users: readonly unknown[]): string | undefined {
  for (const u of users) {
    const team = (u as { team_id?: unknown } | null)?.team_id;
    if (typeof team === "string" && team !== "") return team;
  }
  return undefined;
}

/** The `team` of the first message that names one (an export without users.json). */
async function firstMessageTeam(archive: ExportArchive, root: string): Promise<string | undefined> {
  for (const e of archive.entries) {
    if (!e.name.startsWith(root) || !DAY_FILE.test(e.name.slice(root.length))) continue;
    try {
      const day: unknown = JSON.parse(await archive.readText(e.name));
      if (!Array.isArray(day)) continue;
      for (const m of day) {
        const team = (m as { team?: unknown } | null)?.team;
        if (typeof team === "string" && team !== "") return team;
      }
    } catch {
      // A damaged file is reported when the import reaches it.
    }
  }
  return undefined;
}

function selectConversations(
  all: readonly Conversation[],
  wanted: readonly string[] | undefined,
): Conversation[] {
  if (!wanted || wanted.length === 0) return [...all];
  const unknown: string[] = [];
  const picked = new Map<string, Conversation>();
  for (const w of wanted) {
    const key = w.replace(/^#/, "");
    const found = all.filter((c) => c.id === key || c.name === key);
    if (found.length === 0) unknown.push(w);
    for (const c of found) picked.set(c.id, c);
  }
  if (unknown.length > 0)
    throw new ValidationError(
      `--channels: no conversation ${unknown.map((u) => `"${u}"`).join(", ")} in this export`,
    );
  return [...picked.values()];
}

/** The workspace's domain from a shared file's permalink (https://acme.slack.com/files/...). */
function domainOf(raw: unknown): string | null {
  const files = (raw as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return null;
  for (const f of files) {
    const link = (f as { permalink?: unknown } | null)?.permalink;
    if (typeof link !== "string") continue;
    try {
      const host = new URL(link).hostname;
      if (host.endsWith(".slack.com") || host.endsWith(".enterprise.slack.com")) return host;
    } catch {
      // not a URL: keep looking
    }
  }
  return null;
}
