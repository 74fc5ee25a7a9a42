import { describe, expect, it } from "vitest";
import { buildChromaWhere } from "../../../functions/adapters/chroma/where-filter";
import { toEpochSeconds } from "../../../functions/core/search/search-request";

describe("buildChromaWhere", () => {
  it("returns undefined without filters", () => {
    expect(buildChromaWhere({})).toBeUndefined();
    expect(buildChromaWhere({ channels: [], authors: [], sources: [] })).toBeUndefined();
  });

  it("returns a single condition unwrapped", () => {
    expect(buildChromaWhere({ channels: ["#auth-team"] })).toEqual({ channel: "#auth-team" });
    expect(buildChromaWhere({ authors: ["a@x.com", "b@x.com"] })).toEqual({
      author: { $in: ["a@x.com", "b@x.com"] },
    });
    expect(buildChromaWhere({ from: new Date("2025-12-14T18:58:32Z") })).toEqual({
      timestamp: { $gte: 1765738712 },
    });
  });

  it("wraps several conditions in one $and", () => {
    expect(
      buildChromaWhere({
        channels: ["#auth-team", "#platform"],
        authors: ["charlie@company.com"],
        sources: ["acme"],
        from: new Date("2025-12-01T00:00:00Z"),
        to: new Date("2025-12-31T23:59:59.999Z"),
      }),
    ).toEqual({
      $and: [
        { channel: { $in: ["#auth-team", "#platform"] } },
        { author: "charlie@company.com" },
        { source: "acme" },
        { timestamp: { $gte: 1764547200 } },
        { timestamp: { $lte: 1767225599 } },
      ],
    });
  });

  it("puts a from/to range in two conditions on epoch seconds", () => {
    const where = buildChromaWhere({ from: new Date(1_000_500), to: new Date(2_000_999) });
    expect(where).toEqual({ $and: [{ timestamp: { $gte: 1000 } }, { timestamp: { $lte: 2000 } }] });
  });

  it("matches type:name sources on source_type and source, OR-ed with names", () => {
    expect(buildChromaWhere({ sources: ["slack:acme"] })).toEqual({
      $and: [{ source_type: "slack" }, { source: "acme" }],
    });
    expect(buildChromaWhere({ sources: ["acme", "beta", "slack:gamma"], channels: ["c"] })).toEqual({
      $and: [
        { channel: "c" },
        {
          $or: [
            { source: { $in: ["acme", "beta"] } },
            { $and: [{ source_type: "slack" }, { source: "gamma" }] },
          ],
        },
      ],
    });
  });

  it("never emits an $and/$or with fewer than two operands or an object with two keys", () => {
    const check = (w: unknown): void => {
      if (typeof w !== "object" || w === null || Array.isArray(w)) return;
      const keys = Object.keys(w);
      expect(keys).toHaveLength(1);
      const [key] = keys;
      const value = (w as Record<string, unknown>)[key!];
      if (key === "$and" || key === "$or") {
        expect(Array.isArray(value) && value.length >= 2).toBe(true);
        for (const part of value as unknown[]) check(part);
      }
    };
    check(buildChromaWhere({ sources: ["a:b", "c:d"], authors: ["x"], to: new Date() }));
    check(buildChromaWhere({ sources: ["a:b"] }));
  });
});

describe("toEpochSeconds", () => {
  it("floors to whole seconds", () => {
    expect(toEpochSeconds(new Date("2025-12-14T18:58:32.999Z"))).toBe(1765738712);
    expect(toEpochSeconds(new Date(0))).toBe(0);
  });
});
