import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Writes an eval report as indented JSON (making its directory) and says where. */
export async function writeReport(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
  console.log(`Report written to ${file}`);
}
