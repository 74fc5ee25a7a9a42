/**
 * Each message's nearest messages in the window by the words they share (TF-IDF cosine), the keyword
 * half of the shared-neighbour topics' hybrid neighbourhoods (definition.ts `neighbourhoods`). Only
 * `eligible` messages (those with a vector) are listed or get a list; the others get none.
 *
 * Why in process and not OpenSearch's more_like_this: one more_like_this query per message took
 * ~10 ms (10,000 per 100-115 s), so a 100,000-message window would take 17-20 minutes (bench/
 * README.md, coordination gaps), against a 10-minute budget; and its BM25 hits as they come (long
 * messages rank high for many queries) made worse neighbourhoods than this cosine, as good only
 * once re-scored by it (bench/quality.md, "Hybrid neighbourhoods"). The window's words are already
 * read for the labels.
 *
 * Weights: binary term frequency (a chat message says a word once or twice) times idf ln(n / df),
 * length-normalised, so two messages score by the rare words they share.
 *
 * Cost: walking a word's postings for each message that has it is df^2 steps. The walk takes words
 * rarest first while the steps stay within `postingsPerMessage` per message on average; the commoner
 * words are left out of the walk (not of the norms), as more_like_this's max_doc_freq leaves them:
 * they cost the most and weigh the least. So the time is bounded by the window's size, whatever its
 * vocabulary (templated chatter, a few hundred common words, would cost ~100,000 steps per message).
 */
export function lexicalNeighbours(
  words: readonly ReadonlySet<string>[],
  depth: number,
  opts: { postingsPerMessage?: number; eligible?: (i: number) => boolean } = {},
): number[][] {
  const n = words.length;
  const eligible = opts.eligible ?? (() => true);
  const termOf = new Map<string, number>();
  const df: number[] = [];
  const docTerms: Int32Array[] = words.map((set) => {
    const ids = new Int32Array(set.size);
    let k = 0;
    for (const w of set) {
      let t = termOf.get(w);
      if (t === undefined) {
        t = df.length;
        termOf.set(w, t);
        df.push(0);
      }
      df[t]!++;
      ids[k++] = t;
    }
    return ids;
  });
  const idf = Float64Array.from(df, (d) => Math.log(n / d));
  const norm = docTerms.map((ids) => {
    let s = 0;
    for (const t of ids) s += idf[t]! * idf[t]!;
    return s > 0 ? 1 / Math.sqrt(s) : 0;
  });
  const maxDf = walkedDocFrequency(df, n * (opts.postingsPerMessage ?? POSTINGS_PER_MESSAGE));
  // Postings of the walked terms (CSR): eligible messages only, each posting with its weight.
  const offsets = new Int32Array(df.length + 1);
  for (let i = 0; i < n; i++) {
    if (!eligible(i)) continue;
    for (const t of docTerms[i]!) if (df[t]! <= maxDf) offsets[t + 1]!++;
  }
  for (let t = 0; t < df.length; t++) offsets[t + 1]! += offsets[t]!;
  const postDoc = new Int32Array(offsets[df.length]!);
  const postWeight = new Float64Array(offsets[df.length]!);
  const fill = offsets.slice(0, df.length);
  for (let i = 0; i < n; i++) {
    if (!eligible(i)) continue;
    for (const t of docTerms[i]!) {
      if (df[t]! > maxDf) continue;
      postDoc[fill[t]!] = i;
      postWeight[fill[t]!] = idf[t]! * norm[i]!;
      fill[t]!++;
    }
  }
  const score = new Float64Array(n);
  const touched = new Int32Array(n);
  const result: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (!eligible(i)) {
      result.push([]);
      continue;
    }
    let count = 0;
    for (const t of docTerms[i]!) {
      if (df[t]! > maxDf) continue;
      const w = idf[t]! * norm[i]!;
      for (let p = offsets[t]!; p < offsets[t + 1]!; p++) {
        const j = postDoc[p]!;
        if (j === i) continue;
        if (score[j] === 0) touched[count++] = j;
        score[j]! += w * postWeight[p]!;
      }
    }
    result.push(best(touched, count, score, depth));
    for (let c = 0; c < count; c++) score[touched[c]!] = 0;
  }
  return result;
}

/**
 * The walk's default budget, the one every recorded run used. It is exact on LoCoMo (854 per
 * message) and leaves Cranfield's 19 commonest words out (df above ~280 of 1,398; the whole walk is
 * ~6,200); the exact walk measured worse there with the current rule (bench/quality.md, "Cohesive gaps").
 */
const POSTINGS_PER_MESSAGE = 4000;

/** The largest document frequency whose words, rarest first, fit in `budget` postings walked (df^2 each). */
function walkedDocFrequency(df: readonly number[], budget: number): number {
  const counts = new Map<number, number>();
  for (const d of df) counts.set(d, (counts.get(d) ?? 0) + 1);
  let spent = 0;
  let max = 1;
  for (const [d, words] of [...counts].sort((a, b) => a[0] - b[0])) {
    spent += d * d * words;
    if (spent > budget) break;
    max = d;
  }
  return max;
}

/**
 * The `depth` best of the first `count` candidates by score (ties: lower position first), best first.
 * An insertion into a short sorted list: a common word touches thousands of messages, and sorting
 * them all for each message was most of the time at 100,000 messages.
 */
function best(candidates: Int32Array, count: number, score: Float64Array, depth: number): number[] {
  const top: number[] = [];
  const better = (a: number, b: number) => score[a]! > score[b]! || (score[a] === score[b] && a < b);
  for (let c = 0; c < count; c++) {
    const j = candidates[c]!;
    if (top.length === depth && !better(j, top[depth - 1]!)) continue;
    let at = top.length === depth ? depth - 1 : top.length;
    while (at > 0 && better(j, top[at - 1]!)) {
      if (at < depth) top[at] = top[at - 1]!;
      at--;
    }
    top[at] = j;
  }
  return top;
}
