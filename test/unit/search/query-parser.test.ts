import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../functions/core/errors";
import {
  formatQuery,
  MAX_GROUP_DEPTH,
  parseQuery,
  positiveText,
  type QueryNode,
  sanitizeQueryText,
} from "../../../functions/core/search/query-parser";

const t = (text: string): QueryNode => ({ kind: "term", text });
const p = (text: string): QueryNode => ({ kind: "phrase", text });
const and = (...clauses: QueryNode[]): QueryNode => ({ kind: "and", clauses });
const or = (...clauses: QueryNode[]): QueryNode => ({ kind: "or", clauses });
const not = (clause: QueryNode): QueryNode => ({ kind: "not", clause });

function expectNoTerm(q: string): void {
  try {
    parseQuery(q);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
    expect((err as ValidationError).details).toEqual([
      { path: "q", message: "query needs at least one term" },
    ]);
    return;
  }
  throw new Error(`expected a ValidationError for ${JSON.stringify(q)}`);
}

describe("parseQuery: forms", () => {
  it("parses a single term", () => {
    expect(parseQuery("OAuth")).toEqual(t("OAuth"));
    expect(parseQuery("  oauth  ")).toEqual(t("oauth"));
  });

  it("joins adjacent terms with OR semantics", () => {
    expect(parseQuery("oauth security")).toEqual(or(t("oauth"), t("security")));
  });

  it("parses AND, OR and NOT", () => {
    expect(parseQuery("oauth AND security")).toEqual(and(t("oauth"), t("security")));
    expect(parseQuery("oauth OR security")).toEqual(or(t("oauth"), t("security")));
    expect(parseQuery("bug NOT fixed")).toEqual(or(t("bug"), not(t("fixed"))));
    expect(parseQuery("bug AND NOT fixed")).toEqual(and(t("bug"), not(t("fixed"))));
  });

  it("parses quoted phrases, collapsing inner whitespace", () => {
    expect(parseQuery('"authorization code flow"')).toEqual(p("authorization code flow"));
    expect(parseQuery('"  authorization \t code  flow "')).toEqual(p("authorization code flow"));
    expect(parseQuery('oauth "code flow"')).toEqual(or(t("oauth"), p("code flow")));
  });

  it('parses -term and -"phrase" exclusions', () => {
    expect(parseQuery("oauth -google")).toEqual(or(t("oauth"), not(t("google"))));
    expect(parseQuery('oauth -"implicit flow"')).toEqual(or(t("oauth"), not(p("implicit flow"))));
    expect(parseQuery("oauth -(google OR github)")).toEqual(
      or(t("oauth"), not(or(t("google"), t("github")))),
    );
  });

  it("keeps a dash inside a word as text", () => {
    expect(parseQuery("auth-team e-mail")).toEqual(or(t("auth-team"), t("e-mail")));
    expect(parseQuery("oauth - security")).toEqual(or(t("oauth"), t("security")));
  });

  it("treats lowercase and/or/not as plain terms", () => {
    expect(parseQuery("salt and pepper")).toEqual(or(t("salt"), t("and"), t("pepper")));
    expect(parseQuery("this or that not")).toEqual(or(t("this"), t("or"), t("that"), t("not")));
    expect(parseQuery("And Or Not")).toEqual(or(t("And"), t("Or"), t("Not")));
  });

  it("reads an operator word after a dash as a term", () => {
    expect(parseQuery("x -AND")).toEqual(or(t("x"), not(t("AND"))));
  });

  it("cancels a double negation", () => {
    expect(parseQuery("NOT NOT oauth")).toEqual(t("oauth"));
    expect(parseQuery("x NOT -y")).toEqual(or(t("x"), t("y")));
  });
});

describe("parseQuery: precedence and grouping", () => {
  it("binds NOT tighter than AND, AND tighter than OR", () => {
    expect(parseQuery("a OR b AND c")).toEqual(or(t("a"), and(t("b"), t("c"))));
    expect(parseQuery("a AND b OR c")).toEqual(or(and(t("a"), t("b")), t("c")));
    expect(parseQuery("NOT a AND b")).toEqual(and(not(t("a")), t("b")));
    expect(parseQuery("a b AND c")).toEqual(or(t("a"), and(t("b"), t("c"))));
    expect(parseQuery("a AND b AND c")).toEqual(and(t("a"), t("b"), t("c")));
  });

  it("groups with parentheses", () => {
    expect(parseQuery("(a OR b) AND c")).toEqual(and(or(t("a"), t("b")), t("c")));
    expect(parseQuery("a AND (b OR (c AND d))")).toEqual(and(t("a"), or(t("b"), and(t("c"), t("d")))));
    expect(parseQuery("NOT (a OR b) c")).toEqual(or(not(or(t("a"), t("b"))), t("c")));
    expect(parseQuery("((oauth))")).toEqual(t("oauth"));
    expect(parseQuery("(a b) (c d)")).toEqual(or(t("a"), t("b"), t("c"), t("d")));
    expect(parseQuery("a () b")).toEqual(or(t("a"), t("b")));
  });

  it("splits parentheses glued to words", () => {
    expect(parseQuery("(a AND b)OR(c)")).toEqual(or(and(t("a"), t("b")), t("c")));
  });

  it("refuses parentheses nested too deeply", () => {
    const ok = `${"(".repeat(MAX_GROUP_DEPTH)}a${")".repeat(MAX_GROUP_DEPTH)}`;
    expect(parseQuery(ok)).toEqual(t("a"));
    const deep = `${"(".repeat(MAX_GROUP_DEPTH + 1)}a${")".repeat(MAX_GROUP_DEPTH + 1)}`;
    expect(() => parseQuery(deep)).toThrow(ValidationError);
  });
});

describe("parseQuery: malformed input is text, never a crash", () => {
  it("keeps Lucene metacharacters as text", () => {
    const q = "c++ && a||b !x {y} [z] ^2 ~1 wild* why? key:value C:\\path a/b";
    expect(parseQuery(q)).toEqual(
      or(
        t("c++"),
        t("&&"),
        t("a||b"),
        t("!x"),
        t("{y}"),
        t("[z]"),
        t("^2"),
        t("~1"),
        t("wild*"),
        t("why?"),
        t("key:value"),
        t("C:\\path"),
        t("a/b"),
      ),
    );
  });

  it("ignores an unmatched quote and searches the words", () => {
    expect(parseQuery('"authorization code')).toEqual(or(t("authorization"), t("code")));
    expect(parseQuery('"a b" "c')).toEqual(or(p("a b"), t("c")));
    expect(parseQuery('x ""')).toEqual(t("x"));
  });

  it("ignores unmatched parentheses", () => {
    expect(parseQuery("(a OR b")).toEqual(or(t("a"), t("b")));
    expect(parseQuery("a AND b)")).toEqual(and(t("a"), t("b")));
    expect(parseQuery(")a(")).toEqual(t("a"));
    expect(parseQuery("((a AND b) OR c")).toEqual(or(and(t("a"), t("b")), t("c")));
  });

  it("ignores dangling operators", () => {
    expect(parseQuery("AND oauth")).toEqual(t("oauth"));
    expect(parseQuery("oauth AND")).toEqual(t("oauth"));
    expect(parseQuery("oauth OR OR security")).toEqual(or(t("oauth"), t("security")));
    expect(parseQuery("oauth AND OR security")).toEqual(or(t("oauth"), t("security")));
    expect(parseQuery("oauth AND AND security")).toEqual(and(t("oauth"), t("security")));
    expect(parseQuery("oauth NOT")).toEqual(t("oauth"));
    expect(parseQuery("(NOT) oauth")).toEqual(t("oauth"));
  });

  it("strips NUL bytes and control characters", () => {
    expect(sanitizeQueryText("a\u0000b\u0007c\u007f\u0085d")).toBe("a b c  d");
    expect(parseQuery("oauth\u0000security")).toEqual(or(t("oauth"), t("security")));
    expect(parseQuery("line1\nline2\tx")).toEqual(or(t("line1"), t("line2"), t("x")));
    expectNoTerm("\u0000\u0001\u001f");
  });

  it("rejects a query with no positive clause", () => {
    expectNoTerm("-oauth");
    expectNoTerm('-oauth -"code flow"');
    expectNoTerm("NOT oauth");
    expectNoTerm("NOT (a OR b)");
    expectNoTerm("AND OR NOT");
    expectNoTerm("( )");
    expectNoTerm('""');
    expectNoTerm("-");
    expectNoTerm("   ");
  });

  it("never throws anything but ValidationError on random noise", () => {
    const alphabet = ['"', "(", ")", "-", " ", "AND", "OR", "NOT", "a", "\u0000", "\\", ":", "*"];
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 12);
      const q = Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(
        rand() < 0.5 ? " " : "",
      );
      try {
        const ast = parseQuery(q);
        expect(positiveText(ast).length).toBeGreaterThan(0);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
      }
    }
  });
});

describe("positiveText and formatQuery", () => {
  it("keeps terms and phrases, drops exclusions and operators", () => {
    expect(positiveText(parseQuery('oauth AND "code flow" -google NOT (github OR gitlab) OR sso'))).toBe(
      "oauth code flow sso",
    );
    expect(positiveText(parseQuery("users can't login"))).toBe("users can't login");
  });

  it("renders a canonical, parenthesised form", () => {
    expect(formatQuery(parseQuery('a b AND "c d" -e'))).toBe('a OR (b AND "c d") OR NOT e');
    expect(formatQuery(parseQuery("(a OR b) AND NOT c"))).toBe("(a OR b) AND NOT c");
  });
});
