import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ExportArchive } from "../../core/slack/slack-import";
import type { ExportObject, ExportOpener } from "../../core/slack/slack-import-job";

/** Opens a downloaded zip (ZipExportArchive.open, wired in the container). */
export type OpenZip = (path: string) => Promise<ExportArchive & { close(): void }>;

/**
 * Downloads the uploaded export (streamed to the function's ephemeral storage: a zip needs random
 * access to its central directory) and opens it; close() deletes the copy. IfMatch pins the version
 * the notification named, so a re-upload during a run cannot mix two exports.
 */
export class S3ExportOpener implements ExportOpener {
  constructor(
    private readonly s3: S3Client,
    private readonly openZip: OpenZip,
    private readonly dir: string = tmpdir(),
  ) {}

  async open(object: ExportObject): Promise<ExportArchive & { close(): Promise<void> }> {
    const work = await mkdtemp(path.join(this.dir, "slack-export-"));
    const file = path.join(work, "export.zip");
    try {
      const out = await this.s3.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          ...(object.etag ? { IfMatch: object.etag } : {}),
        }),
      );
      if (!out.Body) throw new Error(`s3://${object.bucket}/${object.key} has no body`);
      await pipeline(out.Body as Readable, createWriteStream(file));
      const archive = await this.openZip(file);
      return {
        entries: archive.entries,
        readText: (name) => archive.readText(name),
        close: async () => {
          archive.close();
          await rm(work, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await rm(work, { recursive: true, force: true });
      throw err;
    }
  }
}
