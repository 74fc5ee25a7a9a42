import { describe, expect, it } from "vitest";
import type { Embedder } from "../../../functions/core/ports";
import { withSnippetCache } from "../../../functions/core/search/snippet-embeddings";

/** A deterministic embedder that records what it was asked to embed for search. */
function countingEmbedder() {
  const asked: string[][] = [];
  const vectorOf = (t: string) => [t.length, t.charCodeAt(0) || 0, 1];
  const embedder: Embedder = {
    modelId: "test-model",
    dimension: 3,
    embed: async (texts) => texts.map(vectorOf),
    embedQuery: async (text) => vectorOf(text),
    embedForSearch: async (texts) => {
      asked.push([...texts]);
      return texts.map(vectorOf);
    },
  };
  return { embedder, asked };
}

describe("withSnippetCache", () => {
  it("embeds each window once, returns the model's vectors in the caller's order, repeats included", async () => {
    const { embedder, asked } = countingEmbedder();
    const cached = withSnippetCache(embedder, 10);
    expect(await cached.embedForSearch(["alpha", "be", "alpha"])).toEqual([
      [5, 97, 1],
      [2, 98, 1],
      [5, 97, 1],
    ]);
    expect(await cached.embedForSearch(["be", "gamma"])).toEqual([
      [2, 98, 1],
      [5, 103, 1],
    ]);
    expect(asked).toEqual([["alpha", "be"], ["gamma"]]);
    expect(cached.modelId).toBe("test-model");
    expect(cached.dimension).toBe(3);
  });

  it("keeps the most recently used windows within maxEntries", async () => {
    const { embedder, asked } = countingEmbedder();
    const cached = withSnippetCache(embedder, 2);
    await cached.embedForSearch(["a", "b"]);
    await cached.embedForSearch(["a"]); // a is now the most recent
    await cached.embedForSearch(["c"]); // evicts b
    await cached.embedForSearch(["a", "c", "b"]);
    expect(asked).toEqual([["a", "b"], ["c"], ["b"]]);
  });

  it("caches neither documents nor queries, and is the embedder itself with maxEntries 0", async () => {
    const { embedder } = countingEmbedder();
    let queries = 0;
    const counted: Embedder = {
      ...embedder,
      embedQuery: async (t) => {
        queries++;
        return embedder.embedQuery(t);
      },
    };
    const cached = withSnippetCache(counted, 10);
    await cached.embedQuery("q");
    await cached.embedQuery("q");
    expect(queries).toBe(2);
    expect(withSnippetCache(embedder, 0)).toBe(embedder);
  });
});
