import { positiveClauses, type QueryNode } from "./query-parser";

/**
 * Highlighted snippets for hits the keyword index did not highlight (semantic-only hits, and BM25
 * hits that matched through their context only). The keyword index highlights its own hits with
 * OpenSearch's highlighter (phrase-aware, the same analysis as the match); this is the cheap
 * counterpart: the content is HTML-escaped first, then the query's words are wrapped in `<mark>`.
 *
 * A message longer than one fragment shows its best fragment: sentences packed into windows of up
 * to FRAGMENT_SIZE characters, the one sharing most query words; when none shares a word (a
 * semantic match by meaning), the caller may choose by embedding the windows (pickBySimilarity).
 */

/** Characters per fragment: the OpenSearch highlighter's fragment_size too. */
export const FRAGMENT_SIZE = 200;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#x27;",
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * A word's comparison key: lowercase, common English endings removed (a rough stand-in for the
 * index's stemmer, so "tokens" marks "token" and "failing" marks "fail").
 */
function wordKey(word: string): string {
  const w = word.toLowerCase();
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (w.length - suffix.length >= 3 && w.endsWith(suffix)) return w.slice(0, -suffix.length);
  }
  return w;
}

/** Lucene's English stop words (the index drops them too): never marked, never counted. */
const STOP_WORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(
    " ",
  ),
);

/** The keys of the query's positive words (terms and the words of phrases), stop words aside. */
export function queryWordKeys(ast: QueryNode): Set<string> {
  const keys = new Set<string>();
  for (const clause of positiveClauses(ast))
    for (const m of clause.text.matchAll(WORD))
      if (!STOP_WORDS.has(m[0].toLowerCase())) keys.add(wordKey(m[0]));
  return keys;
}

/** Escapes `text` and marks the words whose key is in `keys`. */
export function markWords(text: string, keys: ReadonlySet<string>): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(WORD)) {
    const start = m.index;
    out += escapeHtml(text.slice(last, start));
    out += keys.has(wordKey(m[0])) ? `<mark>${escapeHtml(m[0])}</mark>` : escapeHtml(m[0]);
    last = start + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

/** Sentences packed into windows of at most `size` characters; a longer sentence is cut at words. */
export function fragmentWindows(content: string, size = FRAGMENT_SIZE): string[] {
  const text = content.trim();
  if (text.length <= size) return [text];
  const sentences = text.split(/(?<=[.!?])\s+|\n+/).filter((s) => s.trim() !== "");
  const pieces: string[] = [];
  for (const s of sentences) {
    if (s.length <= size) pieces.push(s);
    else {
      let rest = s;
      while (rest.length > size) {
        const cut = rest.lastIndexOf(" ", size);
        const at = cut > size / 2 ? cut : size;
        pieces.push(rest.slice(0, at));
        rest = rest.slice(at).trimStart();
      }
      if (rest) pieces.push(rest);
    }
  }
  const windows: string[] = [];
  let current = "";
  for (const p of pieces) {
    if (current && current.length + 1 + p.length > size) {
      windows.push(current);
      current = p;
    } else current = current ? `${current} ${p}` : p;
  }
  if (current) windows.push(current);
  return windows;
}

/** How many distinct query words a window holds. */
function overlap(window: string, keys: ReadonlySet<string>): number {
  const seen = new Set<string>();
  for (const m of window.matchAll(WORD)) {
    const k = wordKey(m[0]);
    if (keys.has(k)) seen.add(k);
  }
  return seen.size;
}

/** The window sharing most query words (the first on ties), or null when none shares one. */
function bestLexicalWindow(windows: readonly string[], keys: ReadonlySet<string>): string | null {
  let best: string | null = null;
  let bestScore = 0;
  for (const w of windows) {
    const score = overlap(w, keys);
    if (score > bestScore) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}

/** The window whose (L2-normalised) vector is closest to the query's. */
function pickBySimilarity(
  windows: readonly string[],
  vectors: readonly (readonly number[])[],
  query: readonly number[],
): string {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  vectors.forEach((v, i) => {
    let dot = 0;
    for (let k = 0; k < v.length; k++) dot += v[k]! * (query[k] ?? 0);
    if (dot > bestScore) {
      best = i;
      bestScore = dot;
    }
  });
  return windows[best]!;
}

/**
 * Most fragment windows embedded per page to choose the snippets of long hits that share no word
 * with the query (semantic-only hits), in one embed call. Measured with the local ONNX model on the
 * 2-core machine at load ~7 (2026-12-04): 1 window 8 ms, 4 windows 30 ms, 8 windows 75 ms, 24
 * windows 172 ms (median). 6 covers one message of ~1.2 kB (a window is up to 200 characters) for
 * ~45 ms at that load; a page's further long semantic-only hits show their first window (words
 * still marked and escaped). Only such hits pay it: short messages and word matches cost nothing.
 */
export const MAX_EMBEDDED_WINDOWS = 6;

export interface HighlightTarget {
  readonly id: number;
  readonly content: string;
  /** Found by the BM25 leg: the keyword index highlights it. */
  readonly bm25: boolean;
}

export interface HighlightSources {
  /** The keyword index's highlighter (KeywordSearch.highlight), bound to the query. */
  readonly keyword?: (ids: number[]) => Promise<Map<number, string[]>>;
  /** The semantic leg's embedder and the query's vector, when that leg ran. */
  readonly embed?: (texts: string[]) => Promise<number[][]>;
  readonly queryVector?: readonly number[];
  /** A failed highlighter or embedding degrades to the lexical snippet; told here. */
  readonly onError?: (what: "keyword" | "embedding", err: unknown) => void;
}

/**
 * One fragment per hit: the keyword index's highlight for BM25 hits whose content matched; for the
 * others the window sharing most query words, else (long messages only) the window closest to the
 * query by embedding, else the first; always HTML-escaped, query words marked.
 */
export async function pageHighlights(
  hits: readonly HighlightTarget[],
  ast: QueryNode,
  sources: HighlightSources,
): Promise<Map<number, string[]>> {
  const keys = queryWordKeys(ast);
  const bm25Ids = hits.filter((h) => h.bm25).map((h) => h.id);
  const fromIndex =
    sources.keyword && bm25Ids.length > 0
      ? sources.keyword(bm25Ids).catch((err: unknown) => {
          sources.onError?.("keyword", err);
          return new Map<number, string[]>();
        })
      : Promise.resolve(new Map<number, string[]>());

  const chosen = new Map<number, string>();
  const undecided: { id: number; windows: string[] }[] = [];
  for (const h of hits) {
    const windows = fragmentWindows(h.content);
    const lexical = windows.length === 1 ? windows[0]! : bestLexicalWindow(windows, keys);
    if (lexical !== null) chosen.set(h.id, lexical);
    else undecided.push({ id: h.id, windows });
  }
  // Long messages sharing no query word: embed their windows, as far as the budget goes.
  const embedded: { id: number; windows: string[] }[] = [];
  let budget = MAX_EMBEDDED_WINDOWS;
  for (const u of undecided) {
    if (u.windows.length <= budget) {
      embedded.push(u);
      budget -= u.windows.length;
    }
  }
  const { embed, queryVector } = sources;
  if (embed && queryVector && embedded.length > 0) {
    try {
      const vectors = await embed(embedded.flatMap((u) => u.windows));
      let at = 0;
      for (const u of embedded) {
        chosen.set(u.id, pickBySimilarity(u.windows, vectors.slice(at, at + u.windows.length), queryVector));
        at += u.windows.length;
      }
    } catch (err) {
      sources.onError?.("embedding", err);
    }
  }
  for (const u of undecided) if (!chosen.has(u.id)) chosen.set(u.id, u.windows[0]!);

  const indexed = await fromIndex;
  return new Map(hits.map((h) => [h.id, indexed.get(h.id) ?? [markWords(chosen.get(h.id)!, keys)]]));
}
