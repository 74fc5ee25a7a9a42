import { readFile } from "node:fs/promises";
import * as z from "zod";

/**
 * BERT (uncased) WordPiece tokenizer driven by a HuggingFace `tokenizer.json`: BertNormalizer,
 * BertPreTokenizer, WordPiece and the [CLS] A [SEP] template. Written here so the embedder needs
 * no tokenizer package (and no Python) at build or run time.
 */

const tokenizerJsonSchema = z.object({
  normalizer: z
    .object({
      type: z.literal("BertNormalizer"),
      clean_text: z.boolean().default(true),
      handle_chinese_chars: z.boolean().default(true),
      strip_accents: z.boolean().nullable().default(null),
      lowercase: z.boolean().default(true),
    })
    .nullable()
    .optional(),
  pre_tokenizer: z.object({ type: z.literal("BertPreTokenizer") }),
  truncation: z.object({ max_length: z.number().int() }).nullable().optional(),
  model: z.object({
    type: z.literal("WordPiece"),
    unk_token: z.string(),
    continuing_subword_prefix: z.string().default("##"),
    max_input_chars_per_word: z.number().int().default(100),
    vocab: z.record(z.string(), z.number().int()),
  }),
});

export interface TokenizerOptions {
  /** Longest sequence, [CLS] and [SEP] included (BERT position embeddings stop at 512). */
  readonly maxLength?: number;
}

/** Row-major [batchSize, seqLength] int64 tensors, padded to the longest sequence in the batch. */
export interface EncodedBatch {
  readonly batchSize: number;
  readonly seqLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
}

const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u;
const WHITESPACE = /[\s\p{Zs}]/u;
const COMBINING_MARK = /\p{Mn}/gu;
const PUNCTUATION = /[\p{P}!-/:-@[-`{-~]/u;

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export class WordPieceTokenizer {
  readonly maxLength: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly vocab: Map<string, number>;
  private readonly prefix: string;
  private readonly maxCharsPerWord: number;
  private readonly normalizer: z.infer<typeof tokenizerJsonSchema>["normalizer"];

  private constructor(spec: z.infer<typeof tokenizerJsonSchema>, opts: TokenizerOptions) {
    this.vocab = new Map(Object.entries(spec.model.vocab));
    this.prefix = spec.model.continuing_subword_prefix;
    this.maxCharsPerWord = spec.model.max_input_chars_per_word;
    this.normalizer = spec.normalizer;
    this.maxLength = opts.maxLength ?? spec.truncation?.max_length ?? 128;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 3 || this.maxLength > 512) {
      throw new RangeError(`maxLength must be an integer in [3, 512], got ${this.maxLength}`);
    }
    this.unkId = this.id(spec.model.unk_token);
    this.clsId = this.id("[CLS]");
    this.sepId = this.id("[SEP]");
    this.padId = this.id("[PAD]");
  }

  static fromJson(json: unknown, opts: TokenizerOptions = {}): WordPieceTokenizer {
    const parsed = tokenizerJsonSchema.safeParse(json);
    if (!parsed.success) throw new Error(`Unsupported tokenizer.json: ${parsed.error.message}`);
    return new WordPieceTokenizer(parsed.data, opts);
  }

  static async fromFile(path: string, opts: TokenizerOptions = {}): Promise<WordPieceTokenizer> {
    return WordPieceTokenizer.fromJson(JSON.parse(await readFile(path, "utf8")), opts);
  }

  private id(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`tokenizer.json vocab has no ${token}`);
    return id;
  }

  /** Vocabulary id of a token, or undefined (tests check expected ids against the file). */
  tokenId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  normalize(text: string): string {
    const n = this.normalizer;
    if (!n) return text;
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0) ?? 0;
      if (n.clean_text) {
        if (cp === 0 || cp === 0xfffd || (CONTROL.test(ch) && !"\t\n\r".includes(ch))) continue;
        if (WHITESPACE.test(ch)) {
          out += " ";
          continue;
        }
      }
      out += n.handle_chinese_chars && isCjk(cp) ? ` ${ch} ` : ch;
    }
    // HF semantics: strip_accents null follows lowercase.
    if (n.strip_accents ?? n.lowercase) out = out.normalize("NFD").replace(COMBINING_MARK, "");
    return n.lowercase ? out.toLowerCase() : out;
  }

  /** Whitespace split, then every punctuation character becomes its own word. */
  preTokenize(text: string): string[] {
    const words: string[] = [];
    for (const chunk of text.split(WHITESPACE)) {
      let current = "";
      for (const ch of chunk) {
        if (PUNCTUATION.test(ch)) {
          if (current) words.push(current);
          words.push(ch);
          current = "";
        } else current += ch;
      }
      if (current) words.push(current);
    }
    return words;
  }

  /** Greedy longest-match-first; a word with any unmatched remainder becomes a single [UNK]. */
  private wordPiece(word: string, out: number[]): void {
    const chars = Array.from(word);
    if (chars.length > this.maxCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const pieces: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.prefix : "") + chars.slice(start, end).join("");
        found = this.vocab.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) {
        out.push(this.unkId);
        return;
      }
      pieces.push(found);
      start = end;
    }
    out.push(...pieces);
  }

  /** Ids without special tokens, untruncated. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    for (const word of this.preTokenize(this.normalize(text))) this.wordPiece(word, ids);
    return ids;
  }

  /** [CLS] ids [SEP], truncated on the right to maxLength. */
  encode(text: string): number[] {
    const ids = this.tokenize(text);
    if (ids.length > this.maxLength - 2) ids.length = this.maxLength - 2;
    return [this.clsId, ...ids, this.sepId];
  }

  encodeBatch(texts: readonly string[]): EncodedBatch {
    const encoded = texts.map((t) => this.encode(t));
    const seqLength = encoded.reduce((max, ids) => Math.max(max, ids.length), 0);
    const size = texts.length * seqLength;
    const inputIds = new BigInt64Array(size).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(size);
    encoded.forEach((ids, row) => {
      ids.forEach((id, col) => {
        inputIds[row * seqLength + col] = BigInt(id);
        attentionMask[row * seqLength + col] = 1n;
      });
    });
    // Single-sequence inputs: every token type is segment A (0).
    return {
      batchSize: texts.length,
      seqLength,
      inputIds,
      attentionMask,
      tokenTypeIds: new BigInt64Array(size),
    };
  }
}
