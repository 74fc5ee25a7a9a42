import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  type CorpusDoc,
  DatasetError,
  type EvalQuery,
  parseCorpus,
  parseQrels,
  parseQueries,
} from "../../functions/core/eval/beir";
import type { Qrels } from "../../functions/core/eval/metrics";

/** A BEIR collection in memory. */
export interface Dataset {
  readonly name: string;
  readonly corpus: readonly CorpusDoc[];
  readonly queries: readonly EvalQuery[];
  readonly qrels: Qrels;
}

/** `file` or, failing that, `file.gz` (the committed fixture is gzipped). */
async function readText(dir: string, file: string): Promise<string> {
  const plain = join(dir, file);
  if (existsSync(plain)) return readFile(plain, "utf8");
  const gz = `${plain}.gz`;
  if (existsSync(gz)) return gunzipSync(await readFile(gz)).toString("utf8");
  throw new DatasetError(`${plain} not found (nor ${file}.gz)`);
}

/** Reads corpus.jsonl, queries.jsonl and qrels/<split>.tsv (each may be gzipped). */
export async function readDataset(dir: string, split = "test"): Promise<Dataset> {
  const root = resolve(dir);
  const [corpus, queries, qrels] = await Promise.all([
    readText(root, "corpus.jsonl").then((t) => parseCorpus(t)),
    readText(root, "queries.jsonl").then((t) => parseQueries(t)),
    readText(root, join("qrels", `${split}.tsv`)).then((t) => parseQrels(t, `qrels/${split}.tsv`)),
  ]);
  return { name: basename(root), corpus, queries, qrels };
}

/**
 * The first `docs` documents and the queries whose relevant documents are all among them
 * (a small, self-consistent collection for quick end-to-end runs).
 */
export function subsetDataset(ds: Dataset, docs: number): Dataset {
  const corpus = ds.corpus.slice(0, docs);
  const ids = new Set(corpus.map((d) => d.id));
  const qrels = new Map<string, ReadonlyMap<string, number>>();
  for (const [queryId, judgments] of ds.qrels) {
    const relevant = [...judgments].filter(([, g]) => g > 0);
    if (relevant.length > 0 && relevant.every(([doc]) => ids.has(doc))) qrels.set(queryId, judgments);
  }
  return { name: `${ds.name}-${docs}`, corpus, queries: ds.queries.filter((q) => qrels.has(q.id)), qrels };
}
