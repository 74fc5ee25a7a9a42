import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import yazl from "yazl";

/**
 * Writes a zip in the layout of a Slack workspace export (https://slack.com/help/articles/220556107):
 * users.json, channels.json, groups.json, dms.json, mpims.json at the top, then
 * <conversation folder>/<YYYY-MM-DD>.json, each a JSON array of message objects. Files come from an
 * iterable, so a generated export of a million messages is written without holding it in memory.
 */
export async function writeZip(
  path: string,
  files: Iterable<{ name: string; content: string | Buffer }>,
  opts: { compress?: boolean } = {},
): Promise<void> {
  const zip = new yazl.ZipFile();
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  for (const f of files) {
    zip.addBuffer(typeof f.content === "string" ? Buffer.from(f.content) : f.content, f.name, {
      mtime: new Date("2024-02-01T00:00:00Z"),
      compress: opts.compress ?? true,
    });
    // Let the deflate stream drain between files: a generated export is produced lazily.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  zip.end();
  await finished(out);
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);

export const exportUser = (
  id: string,
  name: string,
  displayName: string,
  extra: Record<string, unknown> = {},
) => ({
  id,
  team_id: "T0EXPORT1",
  name,
  deleted: false,
  real_name: `${displayName} Example`,
  is_bot: false,
  profile: { display_name: displayName, real_name: `${displayName} Example`, team: "T0EXPORT1" },
  ...extra,
});
