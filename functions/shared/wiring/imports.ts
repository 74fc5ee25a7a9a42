import { S3ExportOpener } from "../../adapters/s3/s3-export-opener";
import { ZipExportArchive } from "../../adapters/slack/zip-export-archive";
import type { ExportOpener } from "../../core/slack/slack-import-job";
import { s3Client } from "../clients/s3";
import type { Config } from "../config";
import { Part } from "./part";
import type { PgPorts } from "./postgres";
import type { QueuePorts } from "./queues";
import type { RuntimePorts } from "./runtime";

/** Uploaded Slack exports (S3, opened as zip files). */
export interface ImportPorts {
  readonly exportOpener: ExportOpener;
}

export function createImportPorts(cfg: Config): ImportPorts {
  let exportOpener: S3ExportOpener | undefined;
  return {
    get exportOpener() {
      exportOpener ??= new S3ExportOpener(s3Client(cfg), (path) => ZipExportArchive.open(path));
      return exportOpener;
    },
  };
}

export const importsPart = new Part(createImportPorts);
export const imports = (): ImportPorts => importsPart.get();

/** What an import job needs; `remainingMs` is the invocation's time left. */
export function importJobDeps(
  p: { pg: PgPorts; queues: QueuePorts; imports: ImportPorts; runtime: RuntimePorts },
  remainingMs: () => number,
) {
  return {
    store: p.pg.store,
    outbox: p.pg.store,
    publisher: p.queues.publisher,
    directory: p.pg.directory,
    access: p.pg.access,
    progress: p.pg.importProgress,
    opener: p.imports.exportOpener,
    importQueue: p.queues.importQueue,
    remainingMs,
    warn: p.runtime.warn,
  };
}
