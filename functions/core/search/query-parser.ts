import { ValidationError } from "../errors";

/**
 * Our own query language, parsed into an AST that the keyword adapter turns into OpenSearch DSL
 * (user input never reaches `query_string`, so no Lucene syntax error can become a 500).
 *
 * Syntax:
 * - `word`                 a term (analysed by the index; Lucene metacharacters are plain text)
 * - `"some words"`         a phrase
 * - `-word`, `-"a phrase"`, `-(a b)`   exclusion
 * - `a AND b`, `a OR b`, `NOT a`       operators, UPPERCASE only ("and"/"or"/"not" are terms)
 * - `( ... )`              grouping
 *
 * Precedence: NOT (and `-`) > AND > OR. Adjacent clauses without an operator are joined like
 * OR, as in a web search engine: any clause may match and documents matching more clauses rank
 * higher (`oauth security` finds messages with either word, both words first). `a AND b`
 * requires both.
 *
 * Negated clauses inside a group are exclusions from that group (Lucene's rule): `bug NOT fixed`
 * and `bug OR NOT fixed` both mean "bug, but not fixed".
 *
 * Malformed input never throws a 500:
 * - an unmatched `"` or parenthesis is ignored and the words around it are searched as text;
 * - operators with nothing to apply to (`AND a`, `a OR`, `NOT`) are ignored;
 * - NUL bytes and other control characters are replaced by a space (stripped, not rejected);
 * - a query left with no positive clause (only exclusions/operators) is a ValidationError (400);
 * - parentheses nested deeper than MAX_GROUP_DEPTH are a ValidationError (400).
 */

export type QueryNode = TermNode | PhraseNode | AndNode | OrNode | NotNode;

export interface TermNode {
  readonly kind: "term";
  readonly text: string;
}

export interface PhraseNode {
  readonly kind: "phrase";
  /** The words between the quotes, whitespace collapsed to single spaces. */
  readonly text: string;
}

/** Every positive clause must match; negated clauses exclude. */
interface AndNode {
  readonly kind: "and";
  readonly clauses: readonly QueryNode[];
}

/** At least one positive clause must match (more matches rank higher); negated clauses exclude. */
interface OrNode {
  readonly kind: "or";
  readonly clauses: readonly QueryNode[];
}

interface NotNode {
  readonly kind: "not";
  readonly clause: QueryNode;
}

/** Deeper nesting is refused: it buys nothing for message search and deep bool trees cost. */
export const MAX_GROUP_DEPTH = 16;

/** Slack's search modifiers (`in:#general`, `from:@alice`, ...): keys are matched case-insensitively. */
const MODIFIER_KEYS = ["in", "from", "to", "before", "after", "on", "during", "has", "is"] as const;
type ModifierKey = (typeof MODIFIER_KEYS)[number];

/** A modifier as typed: taken out of the text the legs match (modifiers.ts gives it a meaning). */
export interface RawModifier {
  readonly key: ModifierKey;
  readonly value: string;
  /** Written `-in:...`, `-from:...` or after NOT. */
  readonly negated: boolean;
  /** As typed, for the response (`-in:#random`). */
  readonly text: string;
}

type Token =
  | { readonly t: "word"; readonly text: string }
  | { readonly t: "phrase"; readonly text: string }
  | { readonly t: "modifier"; readonly key: ModifierKey; readonly value: string }
  | { readonly t: "and" | "or" | "not" | "neg" | "open" | "close" };

const MODIFIER = new RegExp(`^(${MODIFIER_KEYS.join("|")}):(.*)$`, "i");

/** A word written `key:value` with a known key is a modifier; anything else (`read:messages`) is text. */
function wordToken(text: string): Token {
  const m = MODIFIER.exec(text);
  return m ? { t: "modifier", key: m[1]!.toLowerCase() as ModifierKey, value: m[2]! } : { t: "word", text };
}

// C0 controls (NUL included), DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Replaces NUL bytes and other control characters by spaces (tabs and newlines are whitespace anyway). */
export function sanitizeQueryText(q: string): string {
  return q.replace(CONTROL_CHARS, " ");
}

function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    const ch = input[i]!;
    if (isSpace(ch)) {
      i++;
      continue;
    }
    if (ch === "(") {
      tokens.push({ t: "open" });
      i++;
      continue;
    }
    if (ch === ")") {
      tokens.push({ t: "close" });
      i++;
      continue;
    }
    if (ch === '"') {
      const end = input.indexOf('"', i + 1);
      if (end === -1) {
        // Unmatched quote: ignore it, the rest is read as ordinary words.
        i++;
        continue;
      }
      const text = input
        .slice(i + 1, end)
        .trim()
        .replace(/\s+/g, " ");
      if (text.length > 0) tokens.push({ t: "phrase", text });
      i = end + 1;
      continue;
    }
    // `-` negates only at the start of a clause and only when something follows it directly.
    if (ch === "-") {
      const next = input[i + 1];
      if (next === undefined || isSpace(next) || next === ")") {
        i++;
        continue;
      }
      if (next !== "-") tokens.push({ t: "neg" });
      i++;
      // After a `-`, a word is always a term, never an operator (`-AND` excludes the word "AND").
      if (next !== '"' && next !== "(" && next !== "-") {
        const word = readWord(input, i);
        tokens.push(wordToken(word));
        i += word.length;
      }
      continue;
    }
    const word = readWord(input, i);
    i += word.length;
    if (word === "AND") tokens.push({ t: "and" });
    else if (word === "OR") tokens.push({ t: "or" });
    else if (word === "NOT") tokens.push({ t: "not" });
    else tokens.push(wordToken(word));
  }
  return dropUnmatchedParens(tokens);
}

/** A word runs until whitespace, a parenthesis or a quote; everything else in it is text. */
function readWord(input: string, start: number): string {
  let end = start;
  while (end < input.length) {
    const ch = input[end]!;
    if (isSpace(ch) || ch === "(" || ch === ")" || ch === '"') break;
    end++;
  }
  return input.slice(start, end);
}

/** Unbalanced parentheses are ignored rather than rejected, so every later `close` has its `open`. */
function dropUnmatchedParens(tokens: Token[]): Token[] {
  const unmatched = new Set<number>();
  const open: number[] = [];
  tokens.forEach((tok, idx) => {
    if (tok.t === "open") open.push(idx);
    else if (tok.t === "close") {
      if (open.length > 0) open.pop();
      else unmatched.add(idx);
    }
  });
  for (const idx of open) unmatched.add(idx);
  return unmatched.size === 0 ? tokens : tokens.filter((_, idx) => !unmatched.has(idx));
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): QueryNode | null {
    return this.parseOr();
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  // or := and ((OR | adjacency) and)*
  private parseOr(): QueryNode | null {
    const clauses: QueryNode[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok === undefined || tok.t === "close") break;
      if (tok.t === "or" || tok.t === "and") {
        // A dangling operator (nothing on its left) has nothing to join.
        this.pos++;
        continue;
      }
      const node = this.parseAnd();
      if (node) clauses.push(node);
    }
    return makeGroup("or", clauses);
  }

  // and := unary (AND unary)*
  private parseAnd(): QueryNode | null {
    const first = this.parseUnary();
    if (!first) return null;
    const clauses: QueryNode[] = [first];
    while (this.peek()?.t === "and") {
      while (this.peek()?.t === "and") this.pos++;
      const next = this.peek();
      if (next === undefined || next.t === "close" || next.t === "or") break;
      const right = this.parseUnary();
      if (right) clauses.push(right);
    }
    return makeGroup("and", clauses);
  }

  // unary := NOT unary | '-' primary | primary
  private parseUnary(): QueryNode | null {
    const tok = this.peek();
    if (tok === undefined) return null;
    if (tok.t === "not") {
      this.pos++;
      const inner = this.parseUnary();
      return inner ? negate(inner) : null;
    }
    if (tok.t === "neg") {
      this.pos++;
      const inner = this.parsePrimary();
      return inner ? negate(inner) : null;
    }
    return this.parsePrimary();
  }

  private parsePrimary(): QueryNode | null {
    const tok = this.peek();
    if (tok === undefined) return null;
    switch (tok.t) {
      case "word":
        this.pos++;
        return { kind: "term", text: tok.text };
      case "phrase":
        this.pos++;
        return { kind: "phrase", text: tok.text };
      case "open": {
        this.pos++;
        this.depth++;
        if (this.depth > MAX_GROUP_DEPTH) {
          throw new ValidationError("Invalid query", [
            { path: "q", message: `parentheses may nest at most ${MAX_GROUP_DEPTH} levels` },
          ]);
        }
        const inner = this.parseOr();
        // dropUnmatchedParens guarantees this is the matching `close`.
        if (this.peek()?.t === "close") this.pos++;
        this.depth--;
        return inner;
      }
      default:
        // An operator where a clause should be (e.g. `NOT AND`): the caller skips it.
        return null;
    }
  }
}

function negate(node: QueryNode): QueryNode {
  return node.kind === "not" ? node.clause : { kind: "not", clause: node };
}

/** Builds an and/or node: flattens nested groups of the same kind, unwraps single clauses. */
function makeGroup(kind: "and" | "or", clauses: readonly QueryNode[]): QueryNode | null {
  const flat: QueryNode[] = [];
  for (const c of clauses) {
    if (c.kind === kind) flat.push(...c.clauses);
    else flat.push(c);
  }
  if (flat.length === 0) return null;
  if (flat.length === 1) return flat[0]!;
  return { kind, clauses: flat };
}

/**
 * Takes the modifiers out of the token stream: `-in:x` and `NOT in:x` are negated modifiers; the
 * rest of the query is parsed as if they were not there (a modifier is a filter, never a word).
 */
function takeModifiers(tokens: readonly Token[]): { rest: Token[]; modifiers: RawModifier[] } {
  const rest: Token[] = [];
  const modifiers: RawModifier[] = [];
  for (const tok of tokens) {
    if (tok.t === "modifier") {
      const prev = rest[rest.length - 1];
      const negated = prev?.t === "neg" || prev?.t === "not";
      if (negated) rest.pop();
      modifiers.push({
        key: tok.key,
        value: tok.value,
        negated,
        text: `${negated ? "-" : ""}${tok.key}:${tok.value}`,
      });
    } else rest.push(tok);
  }
  return { rest, modifiers };
}

/** A query split into its text (null when only modifiers or exclusions remain) and its modifiers. */
export interface ParsedQuery {
  readonly ast: QueryNode | null;
  readonly modifiers: readonly RawModifier[];
}

/**
 * Parses a search box's text: Slack modifiers (`in:#general`, `-from:@bob`, `before:2025-12-05`;
 * see MODIFIER_KEYS) come out as modifiers, quoted ones stay text (`"in:#general"`), and the rest is
 * the query language above. Never throws for odd syntax; throws ValidationError (path "q") when
 * parentheses nest too deeply. `ast` is null when no positive clause remains.
 */
export function parseSearchText(q: string): ParsedQuery {
  const { rest, modifiers } = takeModifiers(tokenize(sanitizeQueryText(q)));
  const ast = new Parser(rest).parseAll();
  return { ast: ast && positiveClauses(ast).length > 0 ? ast : null, modifiers };
}

/** The error for a query without a positive term (modifiers alone do not make a query). */
export function needsTermError(hasModifiers: boolean): ValidationError {
  return new ValidationError("Invalid query", [
    {
      path: "q",
      message: hasModifiers
        ? "query needs at least one term besides modifiers"
        : "query needs at least one term",
    },
  ]);
}

/**
 * Parses a user query. Never throws for odd syntax; throws ValidationError (path "q") when no
 * positive clause remains or parentheses nest too deeply.
 */
export function parseQuery(q: string): QueryNode {
  const { ast, modifiers } = parseSearchText(q);
  if (!ast) throw needsTermError(modifiers.length > 0);
  return ast;
}

/** Terms and phrases that are not under a negation, in query order. */
export function positiveClauses(ast: QueryNode): (TermNode | PhraseNode)[] {
  const out: (TermNode | PhraseNode)[] = [];
  const walk = (node: QueryNode): void => {
    switch (node.kind) {
      case "term":
      case "phrase":
        out.push(node);
        return;
      case "and":
      case "or":
        for (const c of node.clauses) walk(c);
        return;
      case "not":
        return;
    }
  };
  walk(ast);
  return out;
}

/** The text to embed for the semantic leg: positive terms and phrases, no operators or exclusions. */
export function positiveText(ast: QueryNode): string {
  return positiveClauses(ast)
    .map((c) => c.text)
    .join(" ");
}

/** A canonical, fully parenthesised rendering of the AST (for `explain` and logs). */
export function formatQuery(ast: QueryNode): string {
  switch (ast.kind) {
    case "term":
      return ast.text;
    case "phrase":
      return `"${ast.text}"`;
    case "not":
      return `NOT ${formatOperand(ast.clause)}`;
    case "and":
      return ast.clauses.map(formatOperand).join(" AND ");
    case "or":
      return ast.clauses.map(formatOperand).join(" OR ");
  }
}

function formatOperand(node: QueryNode): string {
  return node.kind === "and" || node.kind === "or" ? `(${formatQuery(node)})` : formatQuery(node);
}
