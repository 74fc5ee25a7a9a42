import yauzl from "yauzl";
import { ValidationError } from "../../core/errors";
import type { ArchiveEntry, ExportArchive } from "../../core/slack/slack-import";

/**
 * A Slack export zip read with yauzl: the central directory is listed once, then each entry is
 * inflated on demand (one day file at a time), so an export of several GB is never in memory.
 * yauzl checks every entry's CRC and sizes: a damaged entry fails alone, when it is read.
 */
export class ZipExportArchive implements ExportArchive {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly byName: ReadonlyMap<string, yauzl.Entry>,
    readonly entries: readonly ArchiveEntry[],
  ) {}

  /** Opens a zip file; a file that is not a zip (or whose directory is broken) is a ValidationError. */
  static async open(path: string): Promise<ZipExportArchive> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, z) =>
        err ? reject(err) : resolve(z),
      ),
    ).catch((err: Error) => {
      throw new ValidationError(`${path} is not a readable zip file: ${err.message}`);
    });
    const byName = new Map<string, yauzl.Entry>();
    const entries: ArchiveEntry[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on("entry", (e: yauzl.Entry) => {
          if (!e.fileName.endsWith("/")) {
            byName.set(e.fileName, e);
            entries.push({ name: e.fileName, size: e.uncompressedSize, modified: e.getLastModDate() });
          }
          zip.readEntry();
        });
        zip.once("end", () => resolve());
        zip.once("error", reject);
        zip.readEntry();
      });
    } catch (err) {
      zip.close();
      throw new ValidationError(`${path} is not a readable zip file: ${(err as Error).message}`);
    }
    return new ZipExportArchive(zip, byName, entries);
  }

  async readText(name: string): Promise<string> {
    const entry = this.byName.get(name);
    if (!entry) throw new Error(`${name} is not in the archive`);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      this.zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  close(): void {
    this.zip.close();
  }
}
