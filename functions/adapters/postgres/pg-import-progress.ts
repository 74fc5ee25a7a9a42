import type pg from "pg";
import type { ImportProgressStore } from "../../core/slack/slack-import";

/** Which day files of an import run are committed (import_files_done). */
export class PgImportProgress implements ImportProgressStore {
  constructor(private readonly pool: pg.Pool) {}

  async doneFiles(runKey: string): Promise<Set<string>> {
    const res = await this.pool.query<{ file: string }>(
      "SELECT file FROM import_files_done WHERE run_key = $1",
      [runKey],
    );
    return new Set(res.rows.map((r) => r.file));
  }

  async markDone(runKey: string, files: readonly string[]): Promise<void> {
    if (files.length === 0) return;
    await this.pool.query(
      `INSERT INTO import_files_done (run_key, file) SELECT $1, f FROM unnest($2::text[]) AS f
       ON CONFLICT DO NOTHING`,
      [runKey, files],
    );
  }
}
