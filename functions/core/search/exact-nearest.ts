import type { LegHit } from "../model";

export interface StoredVector {
  readonly messageId: number;
  readonly vector: ArrayLike<number>;
}

/** A vector scaled to unit length, as one message's: cosine with another unit vector is a dot product. */
export interface UnitVector {
  readonly messageId: number;
  readonly unit: ArrayLike<number>;
}

/** `vector` scaled to unit length in `into` (a zero vector stays zero: it has no direction). */
export function toUnit<T extends Float32Array | Float64Array>(vector: ArrayLike<number>, into: T): T {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) into[i] = norm > 0 ? vector[i]! / norm : 0;
  return into;
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
  const units = vectors.map((v) => ({
    messageId: v.messageId,
    unit: toUnit(v.vector, new Float64Array(v.vector.length)),
  }));
  return nearestUnitVectors(query, units, limit);
}

/**
 * exactNearest over vectors already at unit length (the semantic leg's vector cache keeps them so).
 * Only the vectors at or above the limit-th best score are sorted as objects.
 */
export function nearestUnitVectors(
  query: ArrayLike<number>,
  vectors: readonly UnitVector[],
  limit: number,
): LegHit[] {
  if (limit <= 0 || vectors.length === 0) return [];
  const q = toUnit(query, new Float64Array(query.length));
  const scores = new Float64Array(vectors.length);
  for (let v = 0; v < vectors.length; v++) {
    const { unit, messageId } = vectors[v]!;
    if (unit.length !== q.length) {
      throw new RangeError(
        `vector of message ${messageId} has ${unit.length} dimensions, the query ${q.length}`,
      );
    }
    let sum = 0;
    for (let i = 0; i < q.length; i++) sum += q[i]! * unit[i]!;
    scores[v] = sum;
  }
  // The limit-th best score (a numeric typed-array sort), then only what reaches it.
  const floor = limit >= scores.length ? -Infinity : scores.slice().sort()[scores.length - limit]!;
  const best: LegHit[] = [];
  for (let v = 0; v < vectors.length; v++) {
    if (scores[v]! >= floor) best.push({ messageId: vectors[v]!.messageId, score: scores[v]! });
  }
  best.sort((a, b) => b.score - a.score || a.messageId - b.messageId);
  return best.slice(0, limit);
}
