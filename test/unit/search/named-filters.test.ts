import { describe, expect, it } from "vitest";
import {
  type NameCandidate,
  type NameDirectory,
  resolveNamedFilters,
} from "../../../functions/core/directory/named-filters";
import type { EnrichedMessage } from "../../../functions/core/ports";
import { slackPermalink } from "../../../functions/core/slack/slack-permalink";

/** A directory of a few entries; `literals` are values messages carry as they are. */
function directory(
  entries: Record<string, NameCandidate[]>,
  literals: string[] = [],
): NameDirectory & { calls: number } {
  return {
    calls: 0,
    directMessageChannels: async () => [],
    async matchNames(_kind, values) {
      this.calls++;
      return values.map((value) => ({
        value,
        candidates: entries[value.slice(1).toLowerCase()] ?? [],
        literal: literals.includes(value),
      }));
    },
  };
}

const acme = (id: string, by: NameCandidate["by"] = "name"): NameCandidate => ({
  id,
  source: "slack:acme",
  by,
});

describe("resolveNamedFilters", () => {
  it("replaces #name and @name by the ids they name and leaves ids and other values alone", async () => {
    const dir = directory({ general: [acme("C1")], alice: [acme("U1")] });
    const resolve = await resolveNamedFilters(dir, {
      channels: ["#general", "C9"],
      authors: ["@alice", "x@y.z"],
    });
    expect(
      resolve({ channels: ["#general", "C9"], authors: ["@alice", "x@y.z"], sources: ["acme"] }),
    ).toEqual({
      channels: ["C1", "C9"],
      authors: ["U1", "x@y.z"],
      sources: ["acme"],
    });
  });

  it("asks nothing when no value is a name", async () => {
    const dir = directory({});
    const resolve = await resolveNamedFilters(dir, { channels: ["C1"], authors: ["U1"] });
    expect(dir.calls).toBe(0);
    expect(resolve({ channels: ["C1"] })).toEqual({ channels: ["C1"] });
  });

  it("keeps a value messages carry literally (an app's #platform), alone or beside the directory's ids", async () => {
    const dir = directory({ platform: [acme("C7")] }, ["#platform", "#auth-team"]);
    const resolve = await resolveNamedFilters(dir, { channels: ["#platform", "#auth-team"] });
    expect(resolve({ channels: ["#platform", "#auth-team"] }).channels).toEqual([
      "C7",
      "#platform",
      "#auth-team",
    ]);
  });

  it("a handle match wins over display names; several left is a 400 listing them", async () => {
    const dir = directory({
      bob: [acme("U2"), acme("U3", "display_name")],
      sam: [acme("U4", "display_name"), { id: "U5", source: "slack:beta", by: "display_name" }],
    });
    const resolve = await resolveNamedFilters(dir, { authors: ["@bob"] });
    expect(resolve({ authors: ["@bob"] }).authors).toEqual(["U2"]);
    const err = await resolveNamedFilters(dir, { authors: ["@sam"] }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      status: 400,
      details: [
        {
          path: "author",
          message:
            '"@sam" is ambiguous: it names U4 (slack:acme), U5 (slack:beta); use the id or add a source filter',
        },
      ],
    });
  });

  it("an unknown name is a 400 naming the field and the value", async () => {
    const err = await resolveNamedFilters(directory({}), { channels: ["#nope"], authors: ["@ghost"] }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      status: 400,
      details: [
        { path: "channel", message: '"#nope" matches no conversation in the directory and no message' },
        { path: "author", message: '"@ghost" matches no person in the directory and no message' },
      ],
    });
  });
});

describe("slackPermalink", () => {
  const message = (over: Partial<EnrichedMessage>): EnrichedMessage => ({
    id: 1,
    externalId: "C0G9QF9GZ:1355517523.000005",
    content: "x",
    author: "U1",
    channel: "C0G9QF9GZ",
    timestamp: new Date(0),
    threadId: null,
    source: { type: "slack", name: "T1" },
    metadata: { ts: "1355517523.000005" },
    workspaceDomain: "acme.slack.com",
    ...over,
  });

  it("links a message, and a reply with its thread", () => {
    expect(slackPermalink(message({}))).toBe("https://acme.slack.com/archives/C0G9QF9GZ/p1355517523000005");
    expect(slackPermalink(message({ threadId: "C0G9QF9GZ:1355517000.000100" }))).toBe(
      "https://acme.slack.com/archives/C0G9QF9GZ/p1355517523000005?thread_ts=1355517000.000100&cid=C0G9QF9GZ",
    );
    // A thread parent's thread id is its own ts: no thread parameters.
    expect(slackPermalink(message({ threadId: "C0G9QF9GZ:1355517523.000005" }))).toBe(
      "https://acme.slack.com/archives/C0G9QF9GZ/p1355517523000005",
    );
  });

  it("uses the configured domain when the source has none; null without a domain or for other sources", () => {
    expect(slackPermalink(message({ workspaceDomain: null }), "other.slack.com")).toMatch(
      /^https:\/\/other\.slack\.com\//,
    );
    expect(slackPermalink(message({ workspaceDomain: null }))).toBeNull();
    expect(slackPermalink(message({ source: { type: "app", name: "x" } }))).toBeNull();
  });
});
