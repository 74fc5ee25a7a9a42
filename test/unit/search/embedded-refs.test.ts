import { describe, expect, it } from "vitest";
import { parseRefs } from "../../../functions/adapters/postgres/pg-message-filter";

describe("parseRefs (PostgreSQL's id:version list of a filter's embedded messages)", () => {
  it("reads every pair in order, large ids included, and nothing from an empty list", () => {
    expect(parseRefs("")).toEqual([]);
    expect(parseRefs("5:1")).toEqual([{ messageId: 5, vectorVersion: 1 }]);
    expect(parseRefs("12:3,7:0,9007199254740991:42")).toEqual([
      { messageId: 12, vectorVersion: 3 },
      { messageId: 7, vectorVersion: 0 },
      { messageId: 9_007_199_254_740_991, vectorVersion: 42 },
    ]);
  });

  it("refuses text that is not such a list", () => {
    expect(() => parseRefs("5:1,x:2")).toThrow(/unexpected "x" at 4/);
    expect(() => parseRefs("-5:1")).toThrow(/unexpected "-"/);
  });
});
