import { describe, expect, it } from "vitest";
import { mapAccessEvent } from "../../../functions/core/slack/slack-membership";

const source = { type: "slack", name: "T1" };
const envelope = (event: Record<string, unknown>) => ({
  type: "event_callback",
  team_id: "T1",
  event_id: "Ev1",
  event_time: 1700000000,
  event,
});

describe("mapAccessEvent: Slack's facts about who may read a conversation", () => {
  it("member joins and leaves; a G channel is private, a C channel's kind is left alone", () => {
    expect(
      mapAccessEvent(
        envelope({
          type: "member_joined_channel",
          user: "U1",
          channel: "G1",
          channel_type: "G",
          event_ts: "1700000001.000200",
        }),
        {},
      ),
    ).toEqual([
      { kind: "audience", source, conversation: "G1", audience: "members", at: new Date(1700000001000.2) },
      {
        kind: "member",
        source,
        conversation: "G1",
        principal: "U1",
        member: true,
        at: new Date(1700000001000.2),
      },
    ]);
    const left = mapAccessEvent(
      envelope({ type: "member_left_channel", user: "U1", channel: "C1", channel_type: "C" }),
      {},
    );
    expect(left).toEqual([
      {
        kind: "member",
        source,
        conversation: "C1",
        principal: "U1",
        member: false,
        at: new Date(1700000000000),
      },
    ]);
  });

  it("channel_created is public with its creator a member; group_* is private; im_created a member", () => {
    const created = mapAccessEvent(
      envelope({ type: "channel_created", channel: { id: "C2", name: "new", creator: "U2" } }),
      { sourceName: "acme" },
    );
    expect(
      created.map((c) => [
        c.kind,
        c.source.name,
        c.conversation,
        "audience" in c ? c.audience : c.kind === "member" && c.principal,
      ]),
    ).toEqual([
      ["audience", "acme", "C2", "workspace"],
      ["member", "acme", "C2", "U2"],
    ]);
    expect(
      mapAccessEvent(envelope({ type: "group_rename", channel: { id: "G2", name: "x" } }), {}),
    ).toMatchObject([{ kind: "audience", conversation: "G2", audience: "members" }]);
    expect(
      mapAccessEvent(envelope({ type: "im_created", user: "U3", channel: { id: "D1" } }), {}),
    ).toMatchObject([
      { kind: "audience", conversation: "D1", audience: "members" },
      { kind: "member", conversation: "D1", principal: "U3", member: true },
    ]);
  });

  it("visibility changes and a message's channel_type (a fallback only where nothing is recorded)", () => {
    const msg = (extra: Record<string, unknown>) =>
      mapAccessEvent(
        envelope({
          type: "message",
          channel: "C3",
          user: "U1",
          ts: "1700000002.000100",
          text: "x",
          ...extra,
        }),
        {},
      );
    expect(msg({ subtype: "channel_convert_to_private", channel_type: "group" })).toMatchObject([
      { kind: "audience", audience: "members" },
    ]);
    expect(msg({ subtype: "channel_convert_to_public", channel_type: "channel" })).toMatchObject([
      { kind: "audience", audience: "workspace" },
    ]);
    expect(msg({ channel_type: "group" })).toMatchObject([
      { kind: "audience", audience: "members", fallback: true },
    ]);
    expect(msg({ subtype: "channel_join" })).toMatchObject([
      { kind: "member", principal: "U1", member: true },
    ]);
    expect(msg({ subtype: "group_leave" })).toMatchObject([
      { kind: "member", principal: "U1", member: false },
    ]);
  });

  it("a channel object's members are the whole list; anything else maps to nothing", () => {
    expect(
      mapAccessEvent(
        envelope({
          type: "trisearch_members_snapshot",
          channel: { id: "G4", is_private: true, members: ["U1", "U2"] },
        }),
        {},
      ),
    ).toMatchObject([
      { kind: "audience", audience: "members" },
      { kind: "members", conversation: "G4", principals: ["U1", "U2"] },
    ]);
    expect(mapAccessEvent(envelope({ type: "reaction_added", user: "U1" }), {})).toEqual([]);
    expect(mapAccessEvent({ type: "url_verification" }, {})).toEqual([]);
  });
});
