import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { afterAll, describe, expect, it } from "vitest";
import { BedrockEmbedder } from "../../functions/adapters/bedrock/bedrock-embedder";
import { OnnxEmbedder } from "../../functions/adapters/onnx/onnx-embedder";
import { loadConfig } from "../../functions/shared/config";
import { embedderForModel } from "../../functions/shared/embedder-factory";

// Two model dirs side by side, as `stack up` lays them out: the configured one and a previous one.
const root = mkdtempSync(join(tmpdir(), "trisearch-models-"));
for (const name of ["current-model", "previous-model"]) mkdirSync(join(root, name));
writeFileSync(join(root, "previous-model", "model.onnx"), "");
mkdirSync(join(root, "no-weights"));
const cfg = loadConfig({ ONNX_MODEL_DIR: join(root, "current-model"), AWS_REGION: "us-east-1" });
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("embedderForModel (the model a collection was recorded with)", () => {
  it("rebuilds a Bedrock embedder from its model id, dimension included", () => {
    const recorded = new BedrockEmbedder(new BedrockRuntimeClient({ region: "us-east-1" }), {
      modelId: "amazon.titan-embed-text-v2:0",
      dimensions: 512,
    });
    const rebuilt = embedderForModel(recorded.modelId, cfg);
    expect(rebuilt).toBeInstanceOf(BedrockEmbedder);
    expect(rebuilt).toMatchObject({ modelId: "bedrock:amazon.titan-embed-text-v2:0:512", dimension: 512 });
  });

  it("rejects Bedrock ids without a supported dimension", () => {
    expect(embedderForModel("bedrock:amazon.titan-embed-text-v2:0:384", cfg)).toBeNull();
    expect(embedderForModel("bedrock:amazon.titan-embed-text-v2", cfg)).toBeNull();
    expect(embedderForModel("bedrock::1024", cfg)).toBeNull();
  });

  it("finds an ONNX model beside the configured one, by model id", () => {
    const e = embedderForModel("previous-model", cfg);
    expect(e).toBeInstanceOf(OnnxEmbedder);
    expect(e).toMatchObject({ modelId: "previous-model", dimension: 384 });
  });

  it("is null for an ONNX model that is not there, and never leaves the models directory", () => {
    expect(embedderForModel("no-weights", cfg)).toBeNull();
    expect(embedderForModel("missing-model", cfg)).toBeNull();
    for (const id of ["..", ".", "../previous-model", "a/b", ""])
      expect(embedderForModel(id, cfg), id).toBeNull();
  });
});
