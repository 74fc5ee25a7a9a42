import { MESSAGE_ANALYSIS } from "../../functions/adapters/opensearch/opensearch-keyword-index";

/**
 * Analyzer variants `trisearch eval --analyzer NAME` can measure. Each replaces the body of the
 * index's `message_english` analyzer (the mapping keeps referring to that name) in the eval
 * namespace only; the product's analyzer is MESSAGE_ANALYSIS ("message", the default).
 */
const base = MESSAGE_ANALYSIS.analyzer.message_english;

function variant(filter: string[]) {
  return { ...MESSAGE_ANALYSIS, analyzer: { message_english: { ...base, filter } } };
}

export const ANALYZERS = {
  /** The product's: English + word parts (OAuth2 -> OAuth2, OAuth, 2) + Porter stemming. */
  message: MESSAGE_ANALYSIS,
  /** OpenSearch's `english` analyzer chain: no word-part splitting. */
  english: variant(["english_possessive_stemmer", "lowercase", "english_stop", "english_stemmer"]),
  /** Word parts, but the lighter KStem instead of Porter (fewer over-stemmed conflations). */
  kstem: variant(["english_possessive_stemmer", "message_word_parts", "lowercase", "english_stop", "kstem"]),
  /** Word parts and stopwords, no stemming. */
  nostem: variant(["english_possessive_stemmer", "message_word_parts", "lowercase", "english_stop"]),
} as const;

export type AnalyzerName = keyof typeof ANALYZERS;

export function isAnalyzerName(name: string): name is AnalyzerName {
  return Object.hasOwn(ANALYZERS, name);
}
