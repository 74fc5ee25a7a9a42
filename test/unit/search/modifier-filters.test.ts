import { describe, expect, it } from "vitest";
import { buildChromaWhere } from "../../../functions/adapters/chroma/where-filter";
import { buildFilterClauses } from "../../../functions/adapters/opensearch/query-dsl";
import { matchesNothing, resolveModifiers } from "../../../functions/core/directory/modifier-filters";
import type { NameCandidate, NameDirectory } from "../../../functions/core/directory/named-filters";
import { interpretModifiers } from "../../../functions/core/search/modifiers";
import { parseSearchText } from "../../../functions/core/search/query-parser";

const acme = (id: string, by: NameCandidate["by"] = "name"): NameCandidate => ({
  id,
  source: "slack:acme",
  by,
});

function directory(
  entries: Record<string, NameCandidate[]>,
  literals: string[] = [],
  dms: Record<string, string[]> = {},
) {
  const dir: NameDirectory = {
    async matchNames(_kind, values) {
      return values.map((value) => ({
        value,
        candidates: entries[value.slice(1).toLowerCase()] ?? [],
        literal: literals.includes(value),
      }));
    },
    async directMessageChannels(userIds) {
      return userIds.flatMap((u) => dms[u] ?? []);
    },
  };
  return dir;
}

const mods = (q: string) =>
  interpretModifiers(parseSearchText(q).modifiers, new Date("2025-12-10T00:00:00Z")).modifiers;

describe("resolveModifiers", () => {
  const dir = directory(
    {
      general: [acme("C1")],
      random: [acme("C2")],
      alice: [acme("U1")],
      bob: [acme("U2")],
      sam: [acme("U7", "display_name"), { id: "U8", source: "slack:other", by: "display_name" }],
    },
    ["#auth-team"],
    { U2: ["D2"] },
  );

  it("names become the ids messages carry; ids stay; the echo lists what was applied", async () => {
    const r = await resolveModifiers(
      dir,
      mods(
        "x in:#general in:C9 in:@bob -in:#random from:@alice -from:U5 to:@alice has:file is:thread on:2025-12-05",
      ),
      undefined,
    );
    const f = r.apply({});
    expect(f.channels).toEqual(["C1", "C9", "D2"]);
    expect(f.excludeChannels).toEqual(["C2"]);
    expect(f.authors).toEqual(["U1"]);
    expect(f.excludeAuthors).toEqual(["U5"]);
    expect(f.mentions).toEqual(["U1"]);
    expect(f.has).toEqual(["file"]);
    expect(f.inThread).toBe(true);
    expect(f.from?.toISOString()).toBe("2025-12-05T00:00:00.000Z");
    expect(r.applied).toEqual({
      channel: ["#general", "C9"],
      dm: ["@bob"],
      exclude_channel: ["#random"],
      from: ["@alice"],
      exclude_from: ["U5"],
      to: ["@alice"],
      date: { from: "2025-12-05T00:00:00.000Z", to: "2025-12-05T23:59:59.999Z" },
      has: ["file"],
      is: ["thread"],
    });
    expect(r.notApplied).toEqual([]);
  });

  it("an unknown or ambiguous name is reported and not applied; a literal value (#auth-team) matches", async () => {
    const r = await resolveModifiers(dir, mods("x in:#nope in:#auth-team from:@sam to:@ghost"), undefined);
    expect(r.notApplied).toEqual([
      { modifier: "in:#nope", reason: "unknown channel" },
      { modifier: "from:@sam", reason: expect.stringContaining("ambiguous person") },
      { modifier: "to:@ghost", reason: "unknown person" },
    ]);
    const f = r.apply({});
    expect(f.channels).toEqual(["#auth-team"]);
    expect(f.authors).toBeUndefined();
    expect(f.mentions).toBeUndefined();
    expect(r.applied).toEqual({ channel: ["#auth-team"] });
  });

  it("a bare value is an id and also the name the directory knows (in:general)", async () => {
    const r = await resolveModifiers(dir, mods("x in:general"), undefined);
    expect(r.apply({}).channels).toEqual(["general", "C1"]);
  });

  it("modifiers narrow the request's own filters: channel lists intersect, dates take the tighter bound", async () => {
    const r = await resolveModifiers(
      dir,
      mods("x in:#general after:2025-12-01 before:2025-12-20"),
      undefined,
    );
    const f = r.apply({
      channels: ["C1", "C3"],
      from: new Date("2025-11-01T00:00:00Z"),
      to: new Date("2025-12-15T00:00:00Z"),
    });
    expect(f.channels).toEqual(["C1"]);
    expect(f.from?.toISOString()).toBe("2025-12-02T00:00:00.000Z");
    expect(f.to?.toISOString()).toBe("2025-12-15T00:00:00.000Z");
    expect(matchesNothing(f)).toBe(false);
    expect(matchesNothing(r.apply({ channels: ["C3"] }))).toBe(true);
  });

  it("in:@person without DMs matches nothing", async () => {
    const r = await resolveModifiers(dir, mods("x in:@alice"), undefined);
    expect(matchesNothing(r.apply({}))).toBe(true);
    expect(r.applied).toEqual({ dm: ["@alice"] });
  });
});

describe("the legs' filters for the new conditions", () => {
  const f = {
    excludeChannels: ["C2"],
    excludeAuthors: ["U5"],
    mentions: ["U1"],
    has: ["link", "file"] as const,
    inThread: true,
  };
  it("OpenSearch: must_not for exclusions, terms on mentions/features, exists on thread_id", () => {
    expect(buildFilterClauses({ ...f, has: [...f.has] })).toEqual([
      { bool: { must_not: [{ terms: { channel: ["C2"] } }, { terms: { author: ["U5"] } }] } },
      { terms: { mentions: ["U1"] } },
      { term: { features: "link" } },
      { term: { features: "file" } },
      { exists: { field: "thread_id" } },
    ]);
  });
  it("Chroma: $nin for exclusions; what its metadata lacks is left to PostgreSQL", () => {
    expect(buildChromaWhere({ ...f, has: [...f.has] })).toEqual({
      $and: [{ channel: { $nin: ["C2"] } }, { author: { $nin: ["U5"] } }],
    });
  });
});
