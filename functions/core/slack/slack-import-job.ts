import * as z from "zod";
import { ValidationError } from "../errors";
import type { EventQueue } from "../ports";
import { zodDetails } from "../zod-details";
import {
  type ExportArchive,
  type ImportProgressStore,
  resumeSlackImport,
  type SlackImportDeps,
  type SlackImportOptions,
  type SlackImportReport,
} from "./slack-import";

/** An uploaded export: the object and its version (a re-upload is a new run). */
export interface ExportObject {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string | null;
}

/** Opens an uploaded export for reading (AWS: downloads it to the function's ephemeral storage). */
export interface ExportOpener {
  open(object: ExportObject): Promise<ExportArchive & { close(): Promise<void> }>;
}

const s3Notification = z.object({
  Records: z.array(
    z
      .object({
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string().min(1) }).loose(),
          object: z.object({ key: z.string().min(1), eTag: z.string().nullish() }).loose(),
        }),
      })
      .loose(),
  ),
});
const continuation = z.object({
  continue: z.object({ bucket: z.string().min(1), key: z.string().min(1), etag: z.string().nullable() }),
});
const testEvent = z.object({ Event: z.literal("s3:TestEvent") }).loose();

/**
 * An import queue message: S3's object-created notification (keys arrive URL-encoded, spaces as
 * +), a continuation this job queued for itself, or S3's test event (nothing to do).
 */
export function parseImportMessage(body: string): ExportObject[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ValidationError("Import message is not JSON");
  }
  if (testEvent.safeParse(json).success) return [];
  const next = continuation.safeParse(json);
  if (next.success) return [next.data.continue];
  const parsed = s3Notification.safeParse(json);
  if (!parsed.success)
    throw new ValidationError(
      "Not an S3 notification or an import continuation",
      zodDetails(parsed.error.issues),
    );
  return parsed.data.Records.filter((r) => r.eventName.startsWith("ObjectCreated:")).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeURIComponent(r.s3.object.key.replace(/\+/g, " ")),
    etag: r.s3.object.eTag ?? null,
  }));
}

/** Time kept back from the deadline to commit the last batch and queue the continuation. */
const DEADLINE_RESERVE_MS = 90_000;

/**
 * Imports one uploaded export within a function's time: resumes after the files an earlier run of
 * the same object version committed, stops between files when the deadline nears, and then queues
 * a continuation for itself, so an export of any size completes over as many runs as it needs.
 */
export async function runImportJob(
  deps: Omit<SlackImportDeps, "onFilesDone"> & {
    readonly progress: ImportProgressStore;
    readonly opener: ExportOpener;
    readonly importQueue: EventQueue;
    readonly remainingMs: () => number;
  },
  object: ExportObject,
  opts: Omit<SlackImportOptions, "skipFiles" | "shouldStop">,
): Promise<SlackImportReport> {
  const runKey = `s3://${object.bucket}/${object.key}#${object.etag ?? ""}`;
  const archive = await deps.opener.open(object);
  let report: SlackImportReport;
  try {
    report = await resumeSlackImport(deps, archive, runKey, {
      ...opts,
      shouldStop: () => deps.remainingMs() < DEADLINE_RESERVE_MS,
    });
  } finally {
    await archive.close();
  }
  if (!report.complete) await deps.importQueue.send(JSON.stringify({ continue: object }));
  return report;
}
