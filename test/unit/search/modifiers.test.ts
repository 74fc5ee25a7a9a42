import { describe, expect, it } from "vitest";
import { interpretModifiers, parseDatePeriod } from "../../../functions/core/search/modifiers";
import { formatQuery, parseSearchText } from "../../../functions/core/search/query-parser";
import { parseSearchRequest } from "../../../functions/core/search/search-request";

const NOW = new Date("2025-12-10T15:00:00Z");
const parse = (q: string) => {
  const { ast, modifiers: raw } = parseSearchText(q);
  return { text: ast ? formatQuery(ast) : null, ...interpretModifiers(raw, NOW) };
};
const iso = (d: Date | undefined) => d?.toISOString();

describe("query parser: modifiers come out of the text", () => {
  it("takes every modifier out and leaves the words", () => {
    const r = parse(
      "oauth in:#auth-team in:@bob -in:#random -in:@eve from:@alice -from:@mallory to:@carol has:link is:thread before:2025-12-05",
    );
    expect(r.text).toBe("oauth");
    expect(r.modifiers).toMatchObject({
      channels: ["#auth-team"],
      dmWith: ["@bob"],
      excludeChannels: ["#random"],
      excludeDmWith: ["@eve"],
      from: ["@alice"],
      excludeFrom: ["@mallory"],
      to: ["@carol"],
      has: ["link"],
      isThread: true,
    });
    expect(iso(r.modifiers.until)).toBe("2025-12-04T23:59:59.999Z");
    expect(r.notApplied).toEqual([]);
  });

  it("keeps a quoted modifier and an unknown key as text (read:messages is a word)", () => {
    expect(parse('"in:#general" read:messages').text).toBe('"in:#general" OR read:messages');
    expect(parse('"in:#general" read:messages').modifiers.channels).toEqual([]);
  });

  it("NOT in: is -in:, keys are case-insensitive, modifiers inside groups still apply", () => {
    const r = parse("(deploy OR rollback) NOT in:#random FROM:@alice");
    expect(r.text).toBe("deploy OR rollback");
    expect(r.modifiers.excludeChannels).toEqual(["#random"]);
    expect(r.modifiers.from).toEqual(["@alice"]);
  });

  it("a query of modifiers alone has no text (the request says so, naming q)", () => {
    expect(parse("in:#general from:@alice").text).toBeNull();
    let details: unknown;
    try {
      parseSearchRequest({ q: "from:@alice in:#general" }, "k");
    } catch (err) {
      details = (err as { details: unknown }).details;
    }
    expect(details).toEqual([{ path: "q", message: "query needs at least one term besides modifiers" }]);
  });

  it("several in:, from:, to: are alternatives and duplicates collapse", () => {
    const r = parse("x in:#a in:#b in:#a from:U1 from:@bob to:U2 to:U3");
    expect(r.modifiers.channels).toEqual(["#a", "#b"]);
    expect(r.modifiers.from).toEqual(["U1", "@bob"]);
    expect(r.modifiers.to).toEqual(["U2", "U3"]);
  });

  it("has: takes link, reaction, file (and plurals); is: takes thread", () => {
    const r = parse("x has:links has:reaction has:FILES is:THREAD");
    expect(r.modifiers.has).toEqual(["link", "reaction", "file"]);
    expect(r.modifiers.isThread).toBe(true);
  });
});

describe("malformed modifiers are reported, never searched as words", () => {
  it.each([
    ["in:", "needs a channel"],
    ["in:#", "needs a channel"],
    ["-in:@", "needs a channel"],
    ["from:", "needs a person"],
    ["from:@", "needs a person"],
    ["to:", "needs a person"],
    ["-to:@bob", "only in: and from: can be negated"],
    ["-has:link", "only in: and from: can be negated"],
    ["-before:2025-01-01", "only in: and from: can be negated"],
    ["has:pin", "has: takes link, reaction or file"],
    ["has:", "has: takes link, reaction or file"],
    ["is:saved", "is: takes thread"],
    ["before:2025-13-01", "bad date"],
    ["after:2025-02-30", "bad date"],
    ["on:tomorrowish", "bad date"],
    ["during:", "bad date"],
    ["on:13/45/2025", "bad date"],
    ["before:1969-12-31", "bad date"],
    ["during:2025-00", "bad date"],
  ])("%s", (modifier, reason) => {
    const r = parse(`oauth ${modifier}`);
    expect(r.text).toBe("oauth");
    expect(r.notApplied).toHaveLength(1);
    expect(r.notApplied[0]!.modifier).toBe(modifier);
    expect(r.notApplied[0]!.reason).toContain(reason);
  });
});

describe("dates in the forms Slack accepts (UTC)", () => {
  const range = (q: string) => {
    const m = parse(`x ${q}`).modifiers;
    return [iso(m.since), iso(m.until)];
  };
  it("before: is strictly before the day, after: strictly after it", () => {
    expect(range("before:2025-12-05")).toEqual([undefined, "2025-12-04T23:59:59.999Z"]);
    expect(range("after:2025-12-05")).toEqual(["2025-12-06T00:00:00.000Z", undefined]);
  });
  it("on: is the day; during: a day, month or year", () => {
    expect(range("on:2025-12-05")).toEqual(["2025-12-05T00:00:00.000Z", "2025-12-05T23:59:59.999Z"]);
    expect(range("during:2025-11")).toEqual(["2025-11-01T00:00:00.000Z", "2025-11-30T23:59:59.999Z"]);
    expect(range("during:2024")).toEqual(["2024-01-01T00:00:00.000Z", "2024-12-31T23:59:59.999Z"]);
  });
  it("12/5/2025, 2025/12/05, today, yesterday, month names", () => {
    expect(range("on:12/5/2025")).toEqual(range("on:2025-12-05"));
    expect(range("on:2025/12/05")).toEqual(range("on:2025-12-05"));
    expect(range("on:today")).toEqual(range("on:2025-12-10"));
    expect(range("on:yesterday")).toEqual(range("on:2025-12-09"));
    // The latest such month that has begun: in December 2025, March is 2025's, and so is December.
    expect(range("during:march")).toEqual(range("during:2025-03"));
    expect(range("during:Dec")).toEqual(range("during:2025-12"));
    expect(parseDatePeriod("sept", new Date("2025-02-01T00:00:00Z"))?.start.toISOString()).toBe(
      "2024-09-01T00:00:00.000Z",
    );
  });
  it("several date modifiers intersect", () => {
    expect(range("after:2025-12-01 before:2025-12-05 during:2025-12")).toEqual([
      "2025-12-02T00:00:00.000Z",
      "2025-12-04T23:59:59.999Z",
    ]);
  });
});

describe("parseSearchRequest", () => {
  it("carries modifiers and the reported ones; the cursor stays bound to q as typed", () => {
    const req = parseSearchRequest(
      { q: "oauth from:@alice has:pin", channel: "#auth-team" },
      "k",
      undefined,
      NOW,
    );
    expect(formatQuery(req.query)).toBe("oauth");
    expect(req.modifiers.from).toEqual(["@alice"]);
    expect(req.notApplied).toEqual([{ modifier: "has:pin", reason: "has: takes link, reaction or file" }]);
    expect(req.filters.channels).toEqual(["#auth-team"]);
  });
});
