import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../functions/core/errors";
import { parseDuration, parseGapsRequest } from "../../../functions/core/gaps/gaps-request";

const detailsOf = (input: unknown) => {
  try {
    parseGapsRequest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).details;
  }
  throw new Error("expected a ValidationError");
};

describe("parseGapsRequest", () => {
  it("reads dates, durations, channels and the limit", () => {
    expect(parseGapsRequest({})).toEqual({ channels: [], limit: 20 });
    expect(
      parseGapsRequest({ since: "2026-01-01", until: "2026-01-07", channel: ["#a,#b", "#c"], limit: "5" }),
    ).toEqual({
      since: new Date("2026-01-01T00:00:00.000Z"),
      until: new Date("2026-01-07T23:59:59.999Z"),
      channels: ["#a", "#b", "#c"],
      limit: 5,
    });
    expect(parseGapsRequest({ since: "7d" })).toEqual({ sinceMs: 7 * 86_400_000, channels: [], limit: 20 });
  });

  it.each([
    [{ limit: "0" }, "limit", "must be between 1 and 100"],
    [{ limit: "abc" }, "limit", "must be an integer"],
    [{ limit: "101" }, "limit", "must be between 1 and 100"],
    [{ since: "last tuesday" }, "since", "must be an ISO-8601 date or date-time, or a duration like 7d"],
    [{ until: "2026-02-30" }, "until", "must be an ISO-8601 date or date-time"],
    [{ since: "2026-01-08", until: "2026-01-01" }, "since", "must be before until"],
    [{ since: ["1d", "2d"] }, "since", "must be an ISO-8601 date or date-time, or a duration like 7d"],
  ])("%j is a 400 naming %s", (input, path, message) => {
    expect(detailsOf(input)).toEqual([{ path, message }]);
  });

  it("names every bad field at once", () => {
    expect(
      detailsOf({ limit: "x", until: "nope" })
        .map((d) => d.path)
        .sort(),
    ).toEqual(["limit", "until"]);
  });

  it("durations", () => {
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("48h")).toBe(172_800_000);
    expect(parseDuration("2w")).toBe(1_209_600_000);
    expect(parseDuration("0d")).toBeNull();
    expect(parseDuration("7 days")).toBeNull();
  });
});
