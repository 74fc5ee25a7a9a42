import { LRUCache } from "lru-cache";
import type { Embedder } from "../ports";

/**
 * `embedder` with its snippet-window embeddings (embedForSearch, highlight.ts) remembered by text:
 * a window is a slice of a message's content, so its vector depends on nothing else, and the same
 * long messages come back in the results of searches on their subject. One window costs ~4-6 ms of
 * CPU with bge-small-en-v1.5 on the query path's one thread (a Bedrock call in AWS), and a page
 * embeds up to MAX_EMBEDDED_WINDOWS of them: ~0.9 ms per hybrid search on average in bench/search.
 * At most `maxEntries` windows (~3.4 kB each at 384 dimensions; lru-cache), the least recently used go first;
 * 0 returns `embedder` itself. Documents (`embed`) and queries (`embedQuery`) are not cached.
 * The returned vectors are shared between callers: read them, never write them.
 */
export function withSnippetCache(embedder: Embedder, maxEntries: number): Embedder {
  if (maxEntries <= 0) return embedder;
  const cache = new LRUCache<string, number[]>({ max: maxEntries });
  return {
    get modelId() {
      return embedder.modelId;
    },
    get dimension() {
      return embedder.dimension;
    },
    embed: (texts) => embedder.embed(texts),
    embedQuery: (text) => embedder.embedQuery(text),
    async embedForSearch(texts) {
      // What is cached now (another search may evict it while this one waits for the missing).
      const vectors = new Map<string, number[]>();
      for (const t of texts) {
        const hit = cache.get(t);
        if (hit) vectors.set(t, hit);
      }
      const missing = [...new Set(texts.filter((t) => !vectors.has(t)))];
      if (missing.length > 0) {
        const fresh = await embedder.embedForSearch(missing);
        missing.forEach((t, i) => {
          vectors.set(t, fresh[i]!);
        });
      }
      // Stored after the embedding, so windows another search evicted meanwhile come back.
      for (const [t, vector] of vectors) cache.set(t, vector);
      return texts.map((t) => vectors.get(t)!);
    },
  };
}
