import { beforeAll, describe, expect, it } from "vitest";
import { WordPieceTokenizer } from "../../functions/adapters/onnx/wordpiece-tokenizer";

// Not the default model: test/helpers/global-setup.ts fetches it (MODELS_UNDER_TEST).
const TOKENIZER = ".cache/models/all-minilm-l6-v2-q/tokenizer.json";

describe("WordPieceTokenizer (all-MiniLM-L6-v2 tokenizer.json)", () => {
  let tok: WordPieceTokenizer;
  /** Expected ids come from the same vocab file, so a wrong split fails rather than a wrong number. */
  const ids = (...tokens: string[]) =>
    tokens.map((t) => {
      const id = tok.tokenId(t);
      if (id === undefined) throw new Error(`test expects ${t} in the vocab`);
      return id;
    });

  beforeAll(async () => {
    tok = await WordPieceTokenizer.fromFile(TOKENIZER);
  });

  it("encodes the classic BERT-uncased example", () => {
    expect(tok.encode("hello world")).toEqual([101, 7592, 2088, 102]);
    expect(ids("[CLS]", "hello", "world", "[SEP]")).toEqual([101, 7592, 2088, 102]);
  });

  it("lowercases and isolates punctuation (the apostrophe splits can't)", () => {
    expect(tok.preTokenize(tok.normalize("Users can't sign in"))).toEqual([
      "users",
      "can",
      "'",
      "t",
      "sign",
      "in",
    ]);
    expect(tok.encode("Users can't sign in")).toEqual(
      ids("[CLS]", "users", "can", "'", "t", "sign", "in", "[SEP]"),
    );
    expect(tok.encode("login-flow!!")).toEqual(ids("[CLS]", "log", "##in", "-", "flow", "!", "!", "[SEP]"));
  });

  it("strips accents and cleans control characters", () => {
    expect(tok.normalize("Café NAÏVE")).toBe("cafe naive");
    expect(tok.encode("Café")).toEqual(ids("[CLS]", "cafe", "[SEP]"));
    // NUL and a zero-width space (Cf) are dropped, a tab becomes a separator.
    expect(tok.encode("a\u0000b\tc\u200bd")).toEqual(tok.encode("ab cd"));
  });

  it("splits CJK characters into single-character words", () => {
    expect(tok.preTokenize(tok.normalize("日本語"))).toEqual(["日", "本", "語"]);
  });

  it("breaks unknown words into ## pieces and falls back to [UNK]", () => {
    const pieces = tok.tokenize("supercalifragilisticexpialidocious");
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces[0]).toBe(tok.tokenId("super"));
    expect(pieces).not.toContain(tok.unkId);
    // No vocab entry covers this symbol, not even as a piece.
    expect(tok.tokenize("\u{1F9EA}")).toEqual([tok.unkId]);
    // Longer than max_input_chars_per_word (100): one [UNK], not 100 pieces.
    expect(tok.tokenize("a".repeat(101))).toEqual([tok.unkId]);
    expect(tok.tokenize("a".repeat(100))).not.toContain(tok.unkId);
  });

  it("truncates to maxLength tokens including [CLS] and [SEP]", () => {
    const long = Array.from({ length: 300 }, () => "word").join(" ");
    const enc = tok.encode(long);
    expect(tok.maxLength).toBe(128);
    expect(enc).toHaveLength(128);
    expect(enc[0]).toBe(tok.clsId);
    expect(enc[127]).toBe(tok.sepId);
  });

  it("takes a configurable maxLength within BERT's 512 positions", async () => {
    const short = await WordPieceTokenizer.fromFile(TOKENIZER, { maxLength: 8 });
    const enc = short.encode("one two three four five six seven eight nine");
    expect(enc).toEqual(ids("[CLS]", "one", "two", "three", "four", "five", "six", "[SEP]"));
    await expect(WordPieceTokenizer.fromFile(TOKENIZER, { maxLength: 513 })).rejects.toThrow(RangeError);
  });

  it("pads a batch to its longest sequence, with masks and zero token types", () => {
    const batch = tok.encodeBatch(["hello world", "hi"]);
    expect(batch.batchSize).toBe(2);
    expect(batch.seqLength).toBe(4);
    expect(Array.from(batch.inputIds, Number)).toEqual([101, 7592, 2088, 102, 101, ...ids("hi"), 102, 0]);
    expect(Array.from(batch.attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(batch.tokenTypeIds, Number)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
