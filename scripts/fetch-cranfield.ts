import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { parseCorpus, parseQrels, parseQueries } from "../functions/core/eval/beir";

/**
 * Rebuilds the project's own copy of Cranfield (BEIR layout, gzipped, ~0.45 MB) in
 * test/fixtures/cranfield from a BEIR folder, so `npm run eval`, the tests and CI never read
 * outside the repository. Usage: `npx tsx scripts/fetch-cranfield.ts [SRC] [DEST]`
 * (SRC defaults to ../shared/data/cranfield). The files are checked to parse before writing.
 */
const FILES = ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"] as const;

async function main(): Promise<void> {
  const src = resolve(process.argv[2] ?? "../shared/data/cranfield");
  const dest = resolve(process.argv[3] ?? "test/fixtures/cranfield");
  const texts = await Promise.all(FILES.map((f) => readFile(join(src, f), "utf8")));
  const [corpus, queries, qrels] = texts as [string, string, string];
  const counts = {
    documents: parseCorpus(corpus).length,
    queries: parseQueries(queries).length,
    judgedQueries: parseQrels(qrels).size,
  };
  for (const [i, f] of FILES.entries()) {
    const out = join(dest, `${f}.gz`);
    await mkdir(dirname(out), { recursive: true });
    // mtime 0 in the gzip header (Node writes none): same input, same bytes, no spurious diffs.
    await writeFile(out, gzipSync(texts[i]!, { level: 9 }));
    console.log(`${out}: ${(await stat(out)).size} bytes`);
  }
  console.log(`Cranfield from ${src}: ${JSON.stringify(counts)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
