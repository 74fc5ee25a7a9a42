import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxEmbedder } from "../../functions/adapters/onnx/onnx-embedder";
import { ensureModel, modelArtifact } from "../../local/stack/model";
import { MODELS_UNDER_TEST } from "../helpers/models";

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);

describe.each(MODELS_UNDER_TEST)("OnnxEmbedder (%s, int8)", (model) => {
  const modelDir = `.cache/models/${model}`;
  const { queryPrefix } = modelArtifact(model).settings;
  const embedder = new OnnxEmbedder({ modelDir });

  beforeAll(() => ensureModel(undefined, model, modelDir), 300_000);
  afterAll(() => OnnxEmbedder.closeAll());

  it("returns one unit-norm 384-dimension vector per text", async () => {
    const vectors = await embedder.embed(["user login problems", "Deploy finished", ""]);
    expect(embedder.dimension).toBe(384);
    expect(embedder.modelId).toBe(model);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toHaveLength(384);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(Math.abs(Math.sqrt(dot(v, v)) - 1)).toBeLessThan(1e-4);
    }
  });

  it("returns [] for no texts", async () => {
    expect(await embedder.embed([])).toEqual([]);
  });

  it("ranks a paraphrase above an unrelated message", async () => {
    const [query, related, unrelated] = await embedder.embed([
      "user login problems",
      "Users can't sign in on mobile",
      "Quarterly budget review meeting moved to Thursday",
    ]);
    const relatedScore = dot(query!, related!);
    const unrelatedScore = dot(query!, unrelated!);
    expect(relatedScore).toBeGreaterThan(unrelatedScore);
    expect(relatedScore).toBeGreaterThan(0.4);
  });

  const text = "Users can't sign in on mobile";
  const long =
    "A much longer message about the deploy pipeline, the staging cluster and the on-call rota for next week, " +
    "and the database migration we postponed twice because of the release freeze";
  const maxDiff = (a: readonly number[], b: readonly number[]) =>
    Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN))));

  it("with batchSize 1, gives exactly the same vector whatever else is in the call", async () => {
    const exact = new OnnxEmbedder({ modelDir, batchSize: 1 });
    const [alone] = await exact.embed([text]);
    const mixed = await exact.embed([long, text, "ok"]);
    expect(maxDiff(alone!, mixed[1]!)).toBeLessThan(1e-4);
  });

  it("ignores padding when batching (only the model's dynamic quantisation differs)", async () => {
    // The int8 model quantises activations with one scale per batch tensor, so batch neighbours
    // shift a vector slightly (cosine ~0.993); pooling over padding would give ~0.73.
    const [alone] = await embedder.embed([text]);
    const [padded] = await embedder.embed([text, long]);
    expect(dot(alone!, padded!)).toBeGreaterThan(0.98);
  });

  it("embedQuery gives a document's vector for the text behind the model's query instruction (its own one-thread session)", async () => {
    const [asDocument] = await embedder.embed([queryPrefix + text]);
    const asQuery = await embedder.embedQuery(text);
    expect(asQuery).toHaveLength(384);
    expect(maxDiff(asQuery, asDocument!)).toBeLessThan(1e-4);
  });

  it("with queryInstruction false, embedQuery embeds the query alone (ONNX_QUERY_INSTRUCTION=none)", async () => {
    const bare = new OnnxEmbedder({ modelDir, queryInstruction: false });
    const [asDocument] = await embedder.embed([text]);
    const asQuery = await bare.embedQuery(text);
    expect(maxDiff(asQuery, asDocument!)).toBeLessThan(1e-4);
    // The instruction, where the model has one, moves the vector.
    if (queryPrefix !== "") expect(maxDiff(asQuery, await embedder.embedQuery(text))).toBeGreaterThan(1e-2);
  });

  it("embedForSearch gives embed's vectors (documents, on the one-thread query session)", async () => {
    const texts = [text, "Rolled back the checkout deploy after the p99 alert fired."];
    const [a, b] = await embedder.embedForSearch(texts);
    const [x, y] = await embedder.embed(texts);
    expect(maxDiff(a!, x!)).toBeLessThan(1e-4);
    expect(maxDiff(b!, y!)).toBeLessThan(1e-4);
    expect(maxDiff(a!, b!)).toBeGreaterThan(1e-2);
  });

  it("keeps input order and is deterministic", async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `message ${i} about release ${"x".repeat(i % 13)}`);
    const first = await embedder.embed(texts);
    expect(await embedder.embed(texts)).toEqual(first);
    const reversed = await embedder.embed([...texts].reverse());
    reversed.reverse();
    for (let i = 0; i < texts.length; i++) expect(maxDiff(first[i]!, reversed[i]!)).toBeLessThan(1e-6);
    // Each vector belongs to its own text, not to a neighbour's.
    const [only5] = await new OnnxEmbedder({ modelDir, batchSize: 1 }).embed([texts[5]!]);
    expect(dot(only5!, first[5]!)).toBeGreaterThan(0.98);
    expect(dot(only5!, first[5]!)).toBeGreaterThan(dot(only5!, first[6]!));
  });

  it("computes off the main thread: the event loop keeps turning during a batch", async () => {
    // On the main thread, onnxruntime-node would hold the loop for each whole batch (2 here), so
    // only a handful of turns could happen; in the worker the loop runs freely meanwhile.
    const texts = Array.from({ length: 64 }, (_, i) => `${long} (copy ${i})`);
    await embedder.embed([text]); // loaded: loading itself is asynchronous either way
    let turns = 0;
    let done = false;
    const embedding = embedder.embed(texts).finally(() => {
      done = true;
    });
    while (!done) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    expect(await embedding).toHaveLength(64);
    expect(turns).toBeGreaterThan(50);
  });

  it("a new session after closeAll embeds the same vectors", async () => {
    const [before] = await embedder.embed([text]);
    await OnnxEmbedder.closeAll();
    const [after] = await embedder.embed([text]);
    expect(maxDiff(before!, after!)).toBeLessThan(1e-6);
  });

  it("fails clearly when the model directory is missing", async () => {
    const missing = new OnnxEmbedder({ modelDir: "/nonexistent/model-dir" });
    await expect(missing.embed(["x"])).rejects.toThrow(/model\.onnx not found/);
  });
});
