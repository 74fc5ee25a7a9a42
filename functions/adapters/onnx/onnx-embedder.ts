import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import * as z from "zod";
import type { Embedder } from "../../core/ports";
import { WordPieceTokenizer } from "./wordpiece-tokenizer";

export interface OnnxEmbedderOptions {
  /** Directory holding model.onnx and tokenizer.json (ONNX_MODEL_DIR; relative to the repository root). */
  readonly modelDir: string;
  readonly modelId?: string;
  /** Texts per session.run (default 32): bounds activation memory; 1 = call-independent vectors. */
  readonly batchSize?: number;
  readonly intraOpNumThreads?: number;
  /** Put the model's query instruction (settings queryPrefix) before queries; default true. */
  readonly queryInstruction?: boolean;
  /**
   * Intra-op threads for embedQuery (default 1). A ~10-token forward pass gains little from a
   * second thread (3.2 ms of CPU on one, 1.9 ms wall but 3.7 ms of CPU on two), and at 8
   * concurrent searches that CPU is latency. Its own session, loaded on the first query only:
   * a worker, which calls embed(), never loads it.
   */
  readonly queryThreads?: number;
  /** Token limit incl. [CLS]/[SEP]; defaults to the tokenizer.json truncation (128). */
  readonly maxLength?: number;
}

interface Loaded {
  readonly session: WorkerSession;
  readonly tokenizer: WordPieceTokenizer;
  readonly settings: ModelSettings;
}

interface Feed {
  readonly name: string;
  readonly data: BigInt64Array;
  readonly dims: readonly number[];
}
interface Output {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}
type WorkerReply =
  | { readonly ready: true; readonly inputNames: string[]; readonly outputNames: string[] }
  | { readonly ready: false; readonly error: string }
  | { readonly id: number; readonly data: Float32Array; readonly dims: number[] }
  | { readonly id: number; readonly error: string };

/**
 * An InferenceSession owned by a worker thread (inference-worker.mjs). onnxruntime-node computes on
 * the thread that calls run(), so on the main thread a 32-text batch (hundreds of ms, seconds for
 * a 12-layer model at 512 tokens) stalls every request of the one-process local runtime behind
 * it. In the worker, searches, pollers and the HTTP gateway keep going, and query embedding runs
 * beside the request handling instead of inside it. Costs a copy of the output per call (~0.1 ms).
 */
class WorkerSession {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (o: Output) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #failure: Error | null = null;

  private constructor(
    worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    onDeath: () => void,
  ) {
    this.#worker = worker;
    worker.on("message", (reply: WorkerReply) => {
      if (!("id" in reply)) return;
      const waiting = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      // An idle worker must not keep a CLI or a test process alive.
      if (this.#pending.size === 0) worker.unref();
      if (!waiting) return;
      if ("error" in reply) waiting.reject(new Error(`ONNX embedder: ${reply.error}`));
      else waiting.resolve({ data: reply.data, dims: reply.dims });
    });
    const fail = (err: Error) => {
      if (!this.#failure) onDeath();
      this.#failure ??= err;
      for (const waiting of this.#pending.values()) waiting.reject(err);
      this.#pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`ONNX embedder: inference worker exited (${code})`)));
  }

  /** `onDeath` runs once if the worker dies later (crash, out of memory), so its owner can replace it. */
  static create(modelPath: string, threads: number, onDeath: () => void): Promise<WorkerSession> {
    const worker = new Worker(new URL("./inference-worker.mjs", import.meta.url), {
      workerData: { modelPath, threads },
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      const onExit = (code: number) => reject(new Error(`ONNX embedder: inference worker exited (${code})`));
      worker.once("error", onError);
      worker.once("exit", onExit);
      worker.once("message", (reply: WorkerReply) => {
        worker.off("error", onError);
        worker.off("exit", onExit);
        if ("ready" in reply && reply.ready) {
          worker.unref();
          resolve(new WorkerSession(worker, reply.inputNames, reply.outputNames, onDeath));
        } else {
          void worker.terminate();
          reject(new Error(`ONNX embedder: ${"error" in reply ? reply.error : "inference worker failed"}`));
        }
      });
    });
  }

  run(feeds: readonly Feed[], output: string): Promise<Output> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<Output>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, feeds, output });
    });
  }

  async release(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * How a model is used, from `trisearch-model.json` beside the weights (written by `stack up`, so a
 * model directory describes itself and a previous model's directory still embeds correctly):
 * - pooling: "mean" over real tokens (sentence-transformers models such as MiniLM) or "cls" (BGE);
 * - queryPrefix: the instruction some retrieval models want before a query (never before documents);
 * - maxLength: tokens per text incl. [CLS]/[SEP] (the tokenizer.json's truncation when absent).
 * A directory without the file is a mean-pooled model with no prefix (the original layout).
 */
const modelSettingsSchema = z.object({
  pooling: z.enum(["mean", "cls"]).default("mean"),
  queryPrefix: z.string().default(""),
  maxLength: z.number().int().min(3).max(512).optional(),
});
export type ModelSettings = z.infer<typeof modelSettingsSchema>;
export const MODEL_SETTINGS_FILE = "trisearch-model.json";

async function readModelSettings(dir: string): Promise<ModelSettings> {
  const path = join(dir, MODEL_SETTINGS_FILE);
  if (!existsSync(path)) return modelSettingsSchema.parse({});
  const parsed = modelSettingsSchema.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) throw new Error(`ONNX embedder: ${path}: ${parsed.error.message}`);
  return parsed.data;
}

const DIMENSION = 384;

/** One session (and worker) per model dir and settings per process: loading costs ~100-300 ms and ~90 MB. */
const sessions = new Map<string, Promise<Loaded>>();

/** Relative dirs resolve against cwd (CLI, Lambda task root), then against the repo root. */
export function resolveModelDir(dir: string): string {
  if (isAbsolute(dir)) return dir;
  const fromCwd = resolve(process.cwd(), dir);
  if (existsSync(fromCwd)) return fromCwd;
  const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
  const fromRepo = resolve(repoRoot, dir);
  return existsSync(fromRepo) ? fromRepo : fromCwd;
}

async function load(
  dir: string,
  threads: number,
  maxLength: number | undefined,
  onDeath: () => void,
): Promise<Loaded> {
  const modelPath = join(dir, "model.onnx");
  const tokenizerPath = join(dir, "tokenizer.json");
  for (const path of [modelPath, tokenizerPath]) {
    if (!existsSync(path)) throw new Error(`ONNX embedder: ${path} not found (set ONNX_MODEL_DIR)`);
  }
  const settings = await readModelSettings(dir);
  const tokens = maxLength ?? settings.maxLength;
  const [session, tokenizer] = await Promise.all([
    WorkerSession.create(modelPath, threads, onDeath),
    WordPieceTokenizer.fromFile(tokenizerPath, tokens === undefined ? {} : { maxLength: tokens }),
  ]);
  if (!session.outputNames.includes("last_hidden_state")) {
    await session.release();
    throw new Error(`ONNX embedder: ${modelPath} has no last_hidden_state output`);
  }
  return { session, tokenizer, settings };
}

function normalised(v: Float64Array): number[] {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}

function compareForBatching(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sentence embeddings from a local BERT-style ONNX model: mean pooling + L2 normalisation.
 * The int8 model quantises activations with one scale per batch tensor, so a text's vector moves
 * slightly with its batch neighbours (cosine ~0.993, not padding: pooling is masked). batchSize 1
 * makes every vector independent of the call at roughly a third of the batched throughput.
 */
export class OnnxEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension = DIMENSION;
  private readonly dir: string;
  private readonly batchSize: number;
  private readonly threads: number;
  private readonly queryThreads: number;
  private readonly maxLength: number | undefined;
  private readonly queryInstruction: boolean;

  constructor(opts: OnnxEmbedderOptions) {
    this.dir = resolveModelDir(opts.modelDir);
    // The directory is named after the model (`stack up`'s layout: .cache/models/<model id>).
    this.modelId = opts.modelId ?? basename(this.dir);
    this.batchSize = opts.batchSize ?? 32;
    this.threads = opts.intraOpNumThreads ?? 2;
    this.queryThreads = opts.queryThreads ?? 1;
    this.maxLength = opts.maxLength;
    this.queryInstruction = opts.queryInstruction ?? true;
  }

  private loaded(threads: number): Promise<Loaded> {
    const key = `${this.dir}|${threads}|${this.maxLength ?? ""}`;
    let pending = sessions.get(key);
    if (!pending) {
      // A failed load, or a worker that dies later (crash, out of memory), is forgotten: the next
      // call loads a new session instead of failing forever.
      const forget = () => {
        if (sessions.get(key) === created) sessions.delete(key);
      };
      const created = load(this.dir, threads, this.maxLength, forget);
      created.catch(forget);
      sessions.set(key, created);
      pending = created;
    }
    return pending;
  }

  async embedQuery(text: string): Promise<number[]> {
    const model = await this.loaded(this.queryThreads);
    const [vector] = await this.runBatch(model, [
      (this.queryInstruction ? model.settings.queryPrefix : "") + text,
    ]);
    return vector!;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    return this.embedWith(this.threads, texts);
  }

  embedForSearch(texts: readonly string[]): Promise<number[][]> {
    return this.embedWith(this.queryThreads, texts);
  }

  private async embedWith(threads: number, texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await this.loaded(threads);
    // Similar lengths share a sub-batch, so little compute goes to padding; ties break on the text
    // so the same set of texts forms the same sub-batches in any order. Order is restored below.
    const order = texts.map((_, i) => i).sort((a, b) => compareForBatching(texts[a]!, texts[b]!));
    const out = new Array<number[]>(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const idx = order.slice(start, start + this.batchSize);
      const vectors = await this.runBatch(
        model,
        idx.map((i) => texts[i]!),
      );
      idx.forEach((i, k) => {
        out[i] = vectors[k]!;
      });
    }
    return out;
  }

  private async runBatch({ session, tokenizer, settings }: Loaded, texts: string[]): Promise<number[][]> {
    const batch = tokenizer.encodeBatch(texts);
    const dims = [batch.batchSize, batch.seqLength];
    const available: Record<string, BigInt64Array> = {
      input_ids: batch.inputIds,
      attention_mask: batch.attentionMask,
      token_type_ids: batch.tokenTypeIds,
    };
    // Feed only what the model declares (some exports drop token_type_ids).
    const feeds: Feed[] = session.inputNames.map((name) => {
      const data = available[name];
      if (!data) throw new Error(`ONNX embedder: unsupported model input ${name}`);
      return { name, data, dims };
    });
    const hidden = await session.run(feeds, "last_hidden_state");
    if (hidden.dims[2] !== DIMENSION) {
      throw new Error(`ONNX embedder: expected last_hidden_state [*, *, ${DIMENSION}]`);
    }
    const data = hidden.data;
    const { batchSize, seqLength, attentionMask } = batch;
    const vectors: number[][] = [];
    for (let row = 0; row < batchSize; row++) {
      if (settings.pooling === "cls") {
        // The [CLS] position's hidden state is the sentence embedding (BGE).
        const offset = row * seqLength * DIMENSION;
        vectors.push(normalised(Float64Array.from(data.subarray(offset, offset + DIMENSION))));
        continue;
      }
      // Mean over real tokens only (padding must not move the embedding); the division by the
      // token count is skipped because L2 normalisation cancels it.
      const sum = new Float64Array(DIMENSION);
      for (let col = 0; col < seqLength; col++) {
        if (attentionMask[row * seqLength + col] === 0n) continue;
        const offset = (row * seqLength + col) * DIMENSION;
        for (let d = 0; d < DIMENSION; d++) sum[d] = (sum[d] ?? 0) + (data[offset + d] ?? 0);
      }
      vectors.push(normalised(sum));
    }
    return vectors;
  }

  /** Releases the sessions and their workers (CLI/bench end cleanly). */
  static async closeAll(): Promise<void> {
    const loaded = await Promise.allSettled(sessions.values());
    sessions.clear();
    await Promise.allSettled(
      loaded.flatMap((r) => (r.status === "fulfilled" ? [r.value.session.release()] : [])),
    );
  }
}
