import type { Embedder } from "../core/ports";
import { bedrockClient } from "../shared/clients";
import { type Config, config } from "../shared/config";
import { BedrockEmbedder } from "./bedrock/bedrock-embedder";
import { OnnxEmbedder } from "./onnx/onnx-embedder";

/** The one switch between embedders; both return L2-normalised vectors tagged with their modelId. */
export function createEmbedder(cfg: Config = config()): Embedder {
  switch (cfg.EMBEDDER) {
    case "onnx":
      return new OnnxEmbedder({
        modelDir: cfg.ONNX_MODEL_DIR,
        ...(cfg.ONNX_MODEL_ID ? { modelId: cfg.ONNX_MODEL_ID } : {}),
      });
    case "bedrock":
      return new BedrockEmbedder(bedrockClient(cfg), {
        modelId: cfg.BEDROCK_MODEL_ID,
        dimensions: cfg.BEDROCK_DIMENSIONS as 256 | 512 | 1024,
      });
  }
}
