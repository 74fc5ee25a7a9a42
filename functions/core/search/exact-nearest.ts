import type { LegHit } from "../model";

export interface StoredVector {
  readonly messageId: number;
  readonly vector: ArrayLike<number>;
}

/**
 * The `limit` vectors most similar to `query` by cosine similarity, best first, ties by message id:
 * the score a vector store in cosine space reports as 1 - distance. An exact scan, for small sets
 * where an approximate index has to walk most of its graph to find the few allowed vectors.
 * A zero vector has no direction and scores 0.
 */
export function exactNearest(
  query: ArrayLike<number>,
  vectors: readonly StoredVector[],
  limit: number,
): LegHit[] {
  if (limit <= 0) return [];
  const queryNorm = Math.sqrt(dot(query, query));
  const scored = vectors.map((v) => {
    if (v.vector.length !== query.length) {
      throw new RangeError(
        `vector of message ${v.messageId} has ${v.vector.length} dimensions, the query ${query.length}`,
      );
    }
    const norms = queryNorm * Math.sqrt(dot(v.vector, v.vector));
    return { messageId: v.messageId, score: norms > 0 ? dot(query, v.vector) / norms : 0 };
  });
  scored.sort((a, b) => b.score - a.score || a.messageId - b.messageId);
  return scored.slice(0, limit);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
