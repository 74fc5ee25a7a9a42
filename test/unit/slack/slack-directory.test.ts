import { describe, expect, it } from "vitest";
import type { ConversationPatch, DirectoryUser } from "../../../functions/core/directory/directory";
import { userDisplayName } from "../../../functions/core/directory/directory";
import { syncSlackDirectory } from "../../../functions/core/slack/membership-sync";
import {
  mapDirectoryEvent,
  slackConversation,
  slackUser,
} from "../../../functions/core/slack/slack-directory";
import { mentionedIds, renderMentions } from "../../../functions/core/slack/slack-mentions";
import { slackFixture } from "../../helpers/slack-fixtures";

const envelope = (event: Record<string, unknown>) => ({
  type: "event_callback",
  team_id: "T1",
  event_id: "Ev1",
  event_time: 1_700_000_000,
  event,
});

describe("Slack directory mapping", () => {
  it("maps a user object (users.json, users.info, user_change) with its names and flags", () => {
    expect(
      slackUser({
        id: "U1",
        name: "alice",
        real_name: "Alice Liddell",
        deleted: true,
        is_bot: false,
        profile: { display_name: "", real_name: "Alice Liddell" },
      }),
    ).toEqual({
      id: "U1",
      name: "alice",
      displayName: null,
      realName: "Alice Liddell",
      isBot: false,
      deleted: true,
    });
    expect(slackUser({ id: "USLACKBOT", name: "slackbot" })?.isBot).toBe(true);
    expect(slackUser({ name: "no id" })).toBeNull();
  });

  it("shows display name, else real name, else handle", () => {
    expect(userDisplayName({ name: "alice", displayName: "Al", realName: "Alice L" })).toBe("Al");
    expect(userDisplayName({ name: "alice", displayName: " ", realName: "Alice L" })).toBe("Alice L");
    expect(userDisplayName({ name: "alice", displayName: null, realName: null })).toBe("alice");
  });

  it("takes a conversation's kind from where it came, else from its flags", () => {
    expect(slackConversation({ id: "C1", name: "general", is_archived: true }, "public")).toEqual({
      id: "C1",
      name: "general",
      kind: "public",
      archived: true,
    });
    expect(slackConversation({ id: "G1", name: "x", is_group: true })?.kind).toBe("private");
    expect(slackConversation({ id: "C2", name: "y", is_channel: true, is_private: true })?.kind).toBe(
      "private",
    );
    expect(slackConversation({ id: "D1", is_im: true })).toEqual({ id: "D1", kind: "im" });
    expect(slackConversation({ id: "G2", name: "mpdm-a--b-1", is_mpim: true })?.kind).toBe("mpim");
  });

  it("maps user and conversation events with the envelope's event time", () => {
    const at = new Date(1_700_000_000_000);
    expect(mapDirectoryEvent(envelope({ type: "user_change", user: { id: "U1", name: "al" } }), {})).toEqual({
      kind: "users",
      source: { type: "slack", name: "T1" },
      users: [{ id: "U1", name: "al", displayName: null, realName: null, isBot: false, deleted: false }],
      at,
    });
    expect(
      mapDirectoryEvent(envelope({ type: "channel_rename", channel: { id: "C1", name: "new" } }), {
        sourceName: "acme",
      }),
    ).toEqual({
      kind: "conversations",
      source: { type: "slack", name: "acme" },
      conversations: [{ id: "C1", name: "new", kind: "public" }],
      at,
    });
    const archive = mapDirectoryEvent(envelope({ type: "group_archive", channel: "G1" }), {});
    expect(archive?.kind === "conversations" && archive.conversations).toEqual([
      { id: "G1", kind: "private", archived: true },
    ]);
    const unarchive = mapDirectoryEvent(envelope({ type: "channel_unarchive", channel: "C1" }), {});
    expect(unarchive?.kind === "conversations" && unarchive.conversations[0]?.archived).toBe(false);
  });

  it("the resync's directory slices: every user and conversation queued in slices of 200, mapped back as sent", async () => {
    const users: DirectoryUser[] = Array.from({ length: 201 }, (_, i) => ({
      id: `U${i}`,
      name: `u${i}`,
      displayName: i === 0 ? "Zero" : null,
      realName: null,
      isBot: i === 1,
      deleted: i === 2,
    }));
    const conversations: ConversationPatch[] = [
      { id: "C1", name: "general", kind: "public", archived: false },
      { id: "D1", kind: "im" },
      { id: "G1", name: null, kind: "mpim", archived: true },
    ];
    const sent: string[] = [];
    const result = await syncSlackDirectory({
      slack: {
        teamId: async () => "T9",
        directoryUsers: async () => users,
        directoryConversations: async () => conversations,
      },
      queue: { send: async (body) => void sent.push(body) },
      now: () => 1_700_000_000_500,
    });
    // The member-listed ones (DM, group DM) for the same run's membership sync; not the public one.
    expect(result).toEqual({
      users: 201,
      conversations: 3,
      memberListed: [
        { id: "D1", isPrivate: false, isIm: true, isMpim: false },
        { id: "G1", isPrivate: true, isIm: false, isMpim: true },
      ],
    });
    expect(sent).toHaveLength(3);
    const changes = sent.map((b) => mapDirectoryEvent(JSON.parse(b), { sourceName: "acme" }));
    const at = new Date(1_700_000_000_000);
    const source = { type: "slack", name: "acme" };
    expect(changes).toEqual([
      { kind: "users", source, users: users.slice(0, 200), at },
      { kind: "users", source, users: users.slice(200), at },
      { kind: "conversations", source, conversations, at },
    ]);
    // Distinct event ids (each slice is its own record), in the team's source without sourceName.
    expect(new Set(sent.map((b) => JSON.parse(b).event_id)).size).toBe(3);
    expect(mapDirectoryEvent(JSON.parse(sent[0]!), {})?.source).toEqual({ type: "slack", name: "T9" });
  });

  it("ignores a directory slice that is not one (no entries, or entries without ids)", () => {
    const snap = (extra: Record<string, unknown>) =>
      mapDirectoryEvent(envelope({ type: "trisearch_directory_snapshot", ...extra }), {});
    expect(snap({})).toBeNull();
    expect(snap({ users: [{ name: "no id" }] })).toBeNull();
    expect(snap({ conversations: [{ id: "" }] })).toBeNull();
  });

  it("is null for messages, unknown events and malformed directory events", () => {
    expect(mapDirectoryEvent(slackFixture("message"), {})).toBeNull();
    expect(mapDirectoryEvent(envelope({ type: "reaction_added" }), {})).toBeNull();
    expect(mapDirectoryEvent(envelope({ type: "user_change", user: "U1" }), {})).toBeNull();
    expect(mapDirectoryEvent(envelope({ type: "channel_archive", channel: { id: "C1" } }), {})).toBeNull();
  });
});

describe("Slack mentions", () => {
  const names = {
    user: (id: string) => ({ U024BE7LH: "alice" })[id],
    conversation: (id: string) => ({ C0G9QF9GZ: "general-renamed" })[id],
  };

  it("finds mentioned user and conversation ids", () => {
    expect(mentionedIds("hi <@U024BE7LH> and <@W1ABC|bob>, see <#C0G9QF9GZ|general> <#C0G9QF9GZ>")).toEqual({
      users: ["U024BE7LH", "W1ABC"],
      conversations: ["C0G9QF9GZ"],
    });
  });

  it("renders names from the directory, else the markup's label, else the id", () => {
    expect(renderMentions("<@U024BE7LH> see <#C0G9QF9GZ|general>", names)).toBe(
      "@alice see #general-renamed",
    );
    expect(renderMentions("<@U999|bob> in <#C999|random> <#C998>", names)).toBe("@bob in #random #C998");
    expect(renderMentions("a <https://x.y|link> and <!here>", names)).toBe(
      "a <https://x.y|link> and <!here>",
    );
  });
});
