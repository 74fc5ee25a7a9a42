/**
 * Words for a gap's label: lowercase word tokens without stopwords, URLs, mentions or numbers.
 * The label names what the sides share, so it is computed over the gap's messages against the
 * window's document frequencies (rare in the window, common in the gap).
 */

const STOPWORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being " +
    "below between both but by can could did do does doing done down during each few for from further " +
    "get got had has have having he her here hers him his how i if in into is it its just let like me " +
    "more most my no nor not now of off on once only or other our ours out over own same she should so " +
    "some such than that the their them then there these they this those through to too under until up " +
    "us very was we were what when where which while who whom why will with would you your yours yes " +
    "ok okay hey hi thanks thank please today tomorrow yesterday still next one two new via per use using " +
    "used make made need needs know think going really see look looks much many well way may might must"
  ).split(" "),
);

const URL = /\bhttps?:\/\/[^\s<>]+/gi;
const MENTION = /<[@#!][^>]*>|[@#][\w.-]+/g;
const WORD = /[a-z][a-z0-9]*(?:['-][a-z0-9]+)*/g;

/** Distinct label-worthy words of a text (at least 3 characters, not a stopword). */
export function labelWords(text: string): Set<string> {
  const words = new Set<string>();
  const cleaned = text.toLowerCase().replace(URL, " ").replace(MENTION, " ");
  for (const m of cleaned.matchAll(WORD)) {
    const w = m[0].replace(/'s$/, "");
    if (w.length >= 3 && !STOPWORDS.has(w)) words.add(w);
  }
  return words;
}

/** Document frequency of each word over texts (each text's words counted once). */
export function documentFrequencies(texts: Iterable<Set<string>>): Map<string, number> {
  const df = new Map<string, number>();
  for (const words of texts) for (const w of words) df.set(w, (df.get(w) ?? 0) + 1);
  return df;
}

/**
 * The `count` words that best tell the gap apart from the window: the share of the gap's messages
 * holding the word times its inverse document frequency in the window; a word must appear on at
 * least two sides (the label says what they share) and in two messages.
 */
export function distinctiveTerms(
  sides: readonly (readonly Set<string>[])[],
  df: ReadonlyMap<string, number>,
  windowSize: number,
  count: number,
): string[] {
  const inGap = new Map<string, { messages: number; sides: number }>();
  let total = 0;
  for (const side of sides) {
    const seen = new Set<string>();
    for (const words of side) {
      total++;
      for (const w of words) {
        const e = inGap.get(w) ?? { messages: 0, sides: 0 };
        e.messages++;
        if (!seen.has(w)) {
          e.sides++;
          seen.add(w);
        }
        inGap.set(w, e);
      }
    }
  }
  const scored: { word: string; score: number }[] = [];
  for (const [word, e] of inGap) {
    if (e.sides < 2 || e.messages < 2) continue;
    const idf = Math.log((windowSize + 1) / ((df.get(word) ?? 0) + 1));
    scored.push({ word, score: (e.messages / total) * idf });
  }
  scored.sort((a, b) => b.score - a.score || a.word.localeCompare(b.word));
  return scored.slice(0, count).map((s) => s.word);
}
