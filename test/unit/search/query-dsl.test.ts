import { describe, expect, it } from "vitest";
import {
  buildFilterClauses,
  buildKeywordQuery,
  compileQuery,
} from "../../../functions/adapters/opensearch/query-dsl";
import { parseQuery } from "../../../functions/core/search/query-parser";

const match = (query: string, extra: Record<string, unknown> = {}) => ({
  match: { content: { query, operator: "and", ...extra } },
});
const phrase = (query: string, extra: Record<string, unknown> = {}) => ({
  match_phrase: { content: { query, ...extra } },
});
const ALL = { zero_terms_query: "all" };

describe("compileQuery", () => {
  it("turns a term into a match on content", () => {
    expect(compileQuery(parseQuery("oauth"))).toEqual(match("oauth"));
  });

  it("turns a phrase into match_phrase on content", () => {
    expect(compileQuery(parseQuery('"authorization code flow"'))).toEqual(phrase("authorization code flow"));
  });

  it("turns adjacency and OR into should with minimum_should_match 1", () => {
    const expected = { bool: { should: [match("oauth"), match("security")], minimum_should_match: 1 } };
    expect(compileQuery(parseQuery("oauth security"))).toEqual(expected);
    expect(compileQuery(parseQuery("oauth OR security"))).toEqual(expected);
  });

  it("turns AND into must; leaves under must tolerate stopword-only text", () => {
    expect(compileQuery(parseQuery('oauth AND "code flow"'))).toEqual({
      bool: { must: [match("oauth", ALL), phrase("code flow", ALL)] },
    });
  });

  it("turns NOT and -exclusions into must_not", () => {
    expect(compileQuery(parseQuery("bug NOT fixed"))).toEqual({
      bool: { should: [match("bug")], minimum_should_match: 1, must_not: [match("fixed")] },
    });
    expect(compileQuery(parseQuery('oauth -"implicit flow" -google'))).toEqual({
      bool: {
        should: [match("oauth")],
        minimum_should_match: 1,
        must_not: [phrase("implicit flow"), match("google")],
      },
    });
    expect(compileQuery(parseQuery("oauth AND NOT (google OR github)"))).toEqual({
      bool: {
        must: [match("oauth", ALL)],
        must_not: [{ bool: { should: [match("google"), match("github")], minimum_should_match: 1 } }],
      },
    });
  });

  it("nests groups following precedence", () => {
    expect(compileQuery(parseQuery("a OR b AND c"))).toEqual({
      bool: {
        should: [match("a"), { bool: { must: [match("b", ALL), match("c", ALL)] } }],
        minimum_should_match: 1,
      },
    });
  });

  it("passes metacharacters through as match text, never as query syntax", () => {
    const dsl = compileQuery(parseQuery("key:value AND c++ AND wild*"));
    expect(dsl).toEqual({
      bool: { must: [match("key:value", ALL), match("c++", ALL), match("wild*", ALL)] },
    });
    expect(JSON.stringify(dsl)).not.toContain("query_string");
  });
});

describe("buildFilterClauses", () => {
  it("is empty without filters", () => {
    expect(buildFilterClauses({})).toEqual([]);
  });

  it("uses terms on keyword fields and a range on timestamp", () => {
    expect(
      buildFilterClauses({
        channels: ["#auth-team", "#platform"],
        authors: ["charlie@company.com"],
        sources: ["acme"],
        from: new Date("2025-12-01T00:00:00Z"),
        to: new Date("2025-12-31T23:59:59.999Z"),
      }),
    ).toEqual([
      { terms: { channel: ["#auth-team", "#platform"] } },
      { terms: { author: ["charlie@company.com"] } },
      { terms: { source: ["acme"] } },
      { range: { timestamp: { gte: "2025-12-01T00:00:00.000Z", lte: "2025-12-31T23:59:59.999Z" } } },
    ]);
  });

  it("supports an open-ended range", () => {
    expect(buildFilterClauses({ from: new Date("2025-12-01T00:00:00Z") })).toEqual([
      { range: { timestamp: { gte: "2025-12-01T00:00:00.000Z" } } },
    ]);
    expect(buildFilterClauses({ to: new Date("2025-12-01T00:00:00Z") })).toEqual([
      { range: { timestamp: { lte: "2025-12-01T00:00:00.000Z" } } },
    ]);
  });

  it("matches a type:name source on both fields, OR-ed with plain names", () => {
    expect(buildFilterClauses({ sources: ["slack:acme"] })).toEqual([
      { bool: { filter: [{ term: { source_type: "slack" } }, { term: { source: "acme" } }] } },
    ]);
    expect(buildFilterClauses({ sources: ["acme", "beta", "slack:gamma"] })).toEqual([
      {
        bool: {
          should: [
            { terms: { source: ["acme", "beta"] } },
            { bool: { filter: [{ term: { source_type: "slack" } }, { term: { source: "gamma" } }] } },
          ],
          minimum_should_match: 1,
        },
      },
    ]);
  });
});

describe("buildKeywordQuery", () => {
  it("puts the query in must, filters in bool.filter, and sorts deterministically", () => {
    const body = buildKeywordQuery(parseQuery("oauth -google"), { channels: ["#auth-team"] }, { size: 60 });
    expect(body).toEqual({
      size: 60,
      query: {
        bool: {
          must: [
            { bool: { should: [match("oauth")], minimum_should_match: 1, must_not: [match("google")] } },
          ],
          filter: [{ terms: { channel: ["#auth-team"] } }],
        },
      },
      sort: [{ _score: { order: "desc" } }, { message_id: { order: "asc" } }],
      track_total_hits: false,
      _source: false,
      stored_fields: "_none_",
    });
  });

  it("passes from when given", () => {
    const body = buildKeywordQuery(parseQuery("oauth"), {}, { size: 20, from: 40 });
    expect(body.from).toBe(40);
    expect(body.size).toBe(20);
    expect(body.query.bool.filter).toEqual([]);
    expect("from" in buildKeywordQuery(parseQuery("oauth"), {}, { size: 20 })).toBe(false);
  });
});
