import { stemmer } from "stemmer";
import { positiveClauses, type QueryNode } from "./query-parser";

/**
 * Highlighted snippets for every hit, computed here from the row's content: the content is
 * HTML-escaped first, then the query's matches are wrapped in `<mark>`: the words of its terms, and
 * its phrases only where the phrase occurs. Words compare by their Porter stem, the English stemmer
 * the keyword index analyses content with, so "tokens" marks "token" and "failing" marks "fail".
 * OpenSearch's highlighter did this before (2026-12-04): measured on the 100k bench, its request cost
 * ~3 ms of OpenSearch CPU per search against ~2 ms for the BM25 query itself, which on 2 cores at c=8
 * was the margin to the p95 target; the rows are already here.
 *
 * A message longer than one fragment shows its best fragment: sentences packed into windows of up
 * to FRAGMENT_SIZE characters, the one marking most query words; when none marks one (a semantic
 * match by meaning, or a BM25 match through the context field), the caller may choose by embedding
 * the windows (pickBySimilarity).
 */

/** Characters per fragment. */
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

/** Lucene's English stop words (the index drops them too): never marked, never counted. */
const STOP_WORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(
    " ",
  ),
);

/**
 * Keys of words seen before: every hit's content is tokenized per search and chat vocabulary
 * repeats, so most words are stemmed once (the stemmer was ~3% of the search process's CPU on the
 * 100k bench). Cleared when full: a bound, not an LRU.
 */
const WORD_KEYS = new Map<string, string | null>();
const WORD_KEYS_MAX = 50_000;

/** A word's comparison key: its Porter stem, lowercase; null for a stop word. */
function wordKey(word: string): string | null {
  const known = WORD_KEYS.get(word);
  if (known !== undefined) return known;
  const w = word.toLowerCase();
  const key = STOP_WORDS.has(w) ? null : stemmer(w);
  if (WORD_KEYS.size >= WORD_KEYS_MAX) WORD_KEYS.clear();
  WORD_KEYS.set(word, key);
  return key;
}

/** What a query marks: the keys of its terms' words, and each phrase as its key sequence (null = a stop word's slot). */
export interface QueryMarks {
  readonly words: ReadonlySet<string>;
  readonly phrases: readonly (readonly (string | null)[])[];
}

/** The marks of the query's positive clauses (terms and phrases not under a negation). */
export function queryMarks(ast: QueryNode): QueryMarks {
  const words = new Set<string>();
  const phrases: (string | null)[][] = [];
  for (const clause of positiveClauses(ast)) {
    const keys = [...clause.text.matchAll(WORD)].map((m) => wordKey(m[0]));
    if (clause.kind === "phrase" && keys.filter((k) => k !== null).length > 1) {
      // Leading and trailing stop words do not constrain a match (the index drops them).
      while (keys[0] === null) keys.shift();
      while (keys.at(-1) === null) keys.pop();
      phrases.push(keys);
    } else for (const k of keys) if (k !== null) words.add(k);
  }
  return { words, phrases };
}

interface Token {
  readonly start: number;
  readonly end: number;
  /** The word's key, then (a word mixing letters and digits) its parts' keys, as the index splits "OAuth2". */
  readonly keys: readonly (string | null)[];
}

const PARTS = /\p{L}+|\p{N}+/gu;

/** The indexes of the tokens the query marks: term words anywhere, phrase words where the phrase occurs. */
function markedTokens(tokens: readonly Token[], marks: QueryMarks): Set<number> {
  const marked = new Set<number>();
  tokens.forEach((t, i) => {
    if (t.keys.some((k) => k !== null && marks.words.has(k))) marked.add(i);
  });
  for (const phrase of marks.phrases) {
    for (let i = 0; i + phrase.length <= tokens.length; i++) {
      if (phrase.every((k, j) => tokens[i + j]!.keys.includes(k))) {
        phrase.forEach((k, j) => {
          if (k !== null) marked.add(i + j);
        });
      }
    }
  }
  return marked;
}

function tokenize(text: string): Token[] {
  return [...text.matchAll(WORD)].map((m) => {
    const parts = m[0].match(PARTS) ?? [];
    return {
      start: m.index,
      end: m.index + m[0].length,
      keys: [wordKey(m[0]), ...(parts.length > 1 ? parts.map(wordKey) : [])],
    };
  });
}

/** Escapes `text` and wraps the query's matches in `<mark>`. */
export function markWords(text: string, marks: QueryMarks): string {
  const tokens = tokenize(text);
  const marked = markedTokens(tokens, marks);
  let out = "";
  let last = 0;
  tokens.forEach((t, i) => {
    if (!marked.has(i)) return;
    out += `${escapeHtml(text.slice(last, t.start))}<mark>${escapeHtml(text.slice(t.start, t.end))}</mark>`;
    last = t.end;
  });
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

/** How many distinct query words a window marks. */
function overlap(window: string, marks: QueryMarks): number {
  const tokens = tokenize(window);
  return new Set([...markedTokens(tokens, marks)].map((i) => tokens[i]!.keys[0])).size;
}

/** The window marking most query words (the first on ties), or null when none marks one. */
function bestLexicalWindow(windows: readonly string[], marks: QueryMarks): string | null {
  let best: string | null = null;
  let bestScore = 0;
  for (const w of windows) {
    const score = overlap(w, marks);
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
 * Most fragment windows embedded per page to choose the snippets of long hits that mark no query
 * word (semantic-only hits), in one call. Measured on the 2-core machine (one thread:
 * Embedder.embedForSearch), windows of ~200 characters: all-MiniLM-L6-v2 3 windows ~11 ms of CPU;
 * bge-small-en-v1.5 (the default since 2026-12-05) 1 window 6.1 ms, 3 15.7 ms, 6 25.0 ms.
 * 6 covers one message of ~1.2 kB; a page's further such hits show their first window (still
 * escaped). Only such hits pay it: short messages and word matches cost nothing. (3 was tried on
 * 2026-12-05: a message over ~600 characters then never gets its closest window.)
 */
export const MAX_EMBEDDED_WINDOWS = 6;

export interface HighlightTarget {
  readonly id: number;
  readonly content: string;
}

export interface HighlightSources {
  /** The semantic leg's embedder (Embedder.embedForSearch) and the query's vector, when that leg ran. */
  readonly embed?: (texts: string[]) => Promise<number[][]>;
  readonly queryVector?: readonly number[];
  /** A failed embedding degrades to the first window; told here. */
  readonly onError?: (what: "embedding", err: unknown) => void;
}

/**
 * One fragment per hit: the window marking most query words, else (long messages only) the window
 * closest to the query by embedding, else the first; always HTML-escaped, query matches marked.
 */
export async function pageHighlights(
  hits: readonly HighlightTarget[],
  ast: QueryNode,
  sources: HighlightSources,
): Promise<Map<number, string[]>> {
  const marks = queryMarks(ast);
  const chosen = new Map<number, string>();
  const undecided: { id: number; windows: string[] }[] = [];
  for (const h of hits) {
    const windows = fragmentWindows(h.content);
    const lexical = windows.length === 1 ? windows[0]! : bestLexicalWindow(windows, marks);
    if (lexical !== null) chosen.set(h.id, lexical);
    else undecided.push({ id: h.id, windows });
  }
  // Long messages marking no query word: embed their windows, as far as the budget goes.
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
  return new Map(hits.map((h) => [h.id, [markWords(chosen.get(h.id)!, marks)]]));
}
