import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { BedrockEmbedder } from "../adapters/bedrock/bedrock-embedder";
import { OnnxEmbedder, resolveModelDir } from "../adapters/onnx/onnx-embedder";
import { asVectorSpace, inVectorSpace, modelOfVectorSpace } from "../core/message-context";
import type { Embedder } from "../core/ports";
import { withSnippetCache } from "../core/search/snippet-embeddings";
import { bedrockClient } from "./clients/bedrock";
import { type Config, config } from "./config";

/**
 * The one switch between embedders; both return L2-normalised vectors tagged with their modelId,
 * which includes the vector leg's context version (message-context.ts) when it has one.
 */
export function createEmbedder(cfg: Config = config()): Embedder {
  return withSnippetCache(
    inVectorSpace(createModelEmbedder(cfg), cfg.contextPolicy),
    cfg.SEARCH_SNIPPET_CACHE_ENTRIES,
  );
}

function createModelEmbedder(cfg: Config): Embedder {
  switch (cfg.EMBEDDER) {
    case "onnx":
      return new OnnxEmbedder({
        modelDir: cfg.ONNX_MODEL_DIR,
        ...(cfg.ONNX_MODEL_ID ? { modelId: cfg.ONNX_MODEL_ID } : {}),
        queryInstruction: cfg.ONNX_QUERY_INSTRUCTION === "model",
      });
    case "bedrock":
      return new BedrockEmbedder(bedrockClient(cfg), {
        queryClient: bedrockClient(cfg, "queries"),
        modelId: cfg.BEDROCK_MODEL_ID,
        dimensions: cfg.BEDROCK_DIMENSIONS as 256 | 512 | 1024,
      });
  }
}

const BEDROCK_PREFIX = "bedrock:";
const BEDROCK_DIMENSIONS = new Set([256, 512, 1024]);
/** An ONNX model id usable as a directory name (no separators, no "." or ".."). */
const ONNX_MODEL_ID = /^(?!\.{1,2}$)[A-Za-z0-9._@-]+$/;

/**
 * An embedder for a model a collection was recorded with, or null when this deployment cannot
 * embed with it. During a model switch search still reads the previous model's collection, so its
 * queries must be embedded by that model, not the configured one.
 * - Bedrock ids (`bedrock:<model id>:<dimension>`, BedrockEmbedder.modelId) carry all it needs.
 * - A context version after the model id (`<model>+ctx.<hash>`) only names the vector space: queries
 *   are embedded by the bare model.
 * - An ONNX model is looked up beside the configured one, in `<dirname(ONNX_MODEL_DIR)>/<model id>`
 *   (the layout `trisearch stack up` uses: .cache/models/all-minilm-l6-v2-q).
 */
export function embedderForModel(spaceId: string, cfg: Config = config()): Embedder | null {
  const model = embedderForBareModel(modelOfVectorSpace(spaceId), cfg);
  return model ? asVectorSpace(model, spaceId) : null;
}

function embedderForBareModel(modelId: string, cfg: Config): Embedder | null {
  if (modelId.startsWith(BEDROCK_PREFIX)) {
    const rest = modelId.slice(BEDROCK_PREFIX.length);
    const cut = rest.lastIndexOf(":");
    const dimension = Number(rest.slice(cut + 1));
    if (cut <= 0 || !BEDROCK_DIMENSIONS.has(dimension)) return null;
    return new BedrockEmbedder(bedrockClient(cfg), {
      queryClient: bedrockClient(cfg, "queries"),
      modelId: rest.slice(0, cut),
      dimensions: dimension as 256 | 512 | 1024,
    });
  }
  if (!ONNX_MODEL_ID.test(modelId)) return null;
  const dir = join(dirname(resolveModelDir(cfg.ONNX_MODEL_DIR)), modelId);
  return existsSync(join(dir, "model.onnx"))
    ? new OnnxEmbedder({ modelDir: dir, modelId, queryInstruction: cfg.ONNX_QUERY_INSTRUCTION === "model" })
    : null;
}
