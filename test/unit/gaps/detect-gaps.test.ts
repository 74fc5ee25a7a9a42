import { describe, expect, it } from "vitest";
import { resolveWindow } from "../../../functions/core/gaps/compute-gaps";
import {
  DEFAULT_GAP_DEFINITION,
  gapScore,
  participantOverlap,
} from "../../../functions/core/gaps/definition";
import {
  cohesionOf,
  detectGaps,
  ensembleWeight,
  linkedAcross,
  seededRandom,
  sharesInside,
} from "../../../functions/core/gaps/detect-gaps";
import { rankedNeighbours, sharedNeighbourWeight } from "../../../functions/core/gaps/shared-neighbours";
import { MemoryGapPorts } from "../../helpers/memory-ports";

const DIM = 64;
const window = { since: new Date("2026-01-01T00:00:00Z"), until: new Date("2026-01-08T00:00:00Z") };
const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 0, 1 + day, hour));
/** The rule before shared-neighbour topics: pairs above a cosine threshold (definition.ts, topics). */
const THRESHOLD = { ...DEFAULT_GAP_DEFINITION, topics: "threshold" as const };

/** A unit vector near `axis` (noise keeps each message distinct), or a random one (axis -1). */
function vector(rand: () => number, axis: number, noise = 0.05): number[] {
  const v = Array.from({ length: DIM }, () => (rand() - 0.5) * 2 * (axis < 0 ? 1 : noise));
  if (axis >= 0) v[axis]! += 1;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/**
 * #auth and #mobile discuss OAuth login (topic axis 0) with disjoint people; 40 background messages
 * in four channels point anywhere.
 */
function workspace(opts: { mobileAuthors?: string[]; mobileText?: string[]; background?: number } = {}) {
  const rand = seededRandom(7);
  const ports = new MemoryGapPorts();
  let id = 1;
  const auth = [
    "OAuth token refresh fails after login redirect",
    "Planning the OAuth login redirect change for the refresh token",
    "OAuth refresh token rotation breaks the login redirect",
  ];
  const mobile = opts.mobileText ?? [
    "Mobile login loops: the refresh token from OAuth expires",
    "Users stuck in a login redirect loop, OAuth refresh token invalid",
    "Debugging the OAuth refresh token on the mobile login screen",
  ];
  auth.forEach((content, i) => {
    ports.add({
      id: id++,
      channel: "#auth",
      author: ["carol@x.com", "alice@x.com"][i % 2]!,
      content,
      timestamp: at(1, i),
      vector: vector(rand, 0),
    });
  });
  const mobileAuthors = opts.mobileAuthors ?? ["frank@x.com", "grace@x.com"];
  mobile.forEach((content, i) => {
    ports.add({
      id: id++,
      channel: "#mobile",
      author: mobileAuthors[i % mobileAuthors.length]!,
      content,
      timestamp: at(2, i),
      vector: vector(rand, 0),
    });
  });
  addChatter(ports, rand, id, opts.background ?? 40, "item");
  return ports;
}

/**
 * `count` messages of chatter from id `firstId` on: four channels, nine people, vectors pointing
 * anywhere, each naming its own `${noun}${i}`.
 */
function addChatter(ports: MemoryGapPorts, rand: () => number, firstId: number, count: number, noun: string) {
  for (let i = 0; i < count; i++) {
    ports.add({
      id: firstId + i,
      channel: ["#auth", "#mobile", "#platform", "#billing"][i % 4]!,
      author: `person${i % 9}@x.com`,
      content: `background note ${i} about ${noun}${i}`,
      timestamp: at(i % 7, i % 24),
      vector: vector(rand, -1),
    });
  }
}

describe("detectGaps", () => {
  it("reports one topic discussed in two channels by disjoint people, with sides, label and score parts", async () => {
    const ports = workspace();
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]!;
    expect(gap.sides.map((s) => s.conversations)).toEqual([["#auth"], ["#mobile"]]);
    expect(gap.sides[0]!.people).toEqual(["alice@x.com", "carol@x.com"]);
    expect(gap.sides[1]!.people).toEqual(["frank@x.com", "grace@x.com"]);
    expect(gap.sides.map((s) => s.messageCount)).toEqual([3, 3]);
    expect(gap.sides[0]!.representatives).toHaveLength(3);
    expect([...gap.messageIds].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(gap.terms).toEqual(expect.arrayContaining(["oauth", "refresh", "token", "login"]));
    expect(gap.firstAt).toEqual(at(1, 0));
    expect(gap.lastAt).toEqual(at(2, 2));
    expect(gap.score.participantOverlap).toBe(0);
    expect(gap.score.messages).toBe(6);
    expect(gap.score.similarity).toBeGreaterThan(0.8);
    expect(gap.score.value).toBeCloseTo(gap.score.similarity * gap.score.sizeFactor, 2);
    expect(stats.messages).toBe(46);
    // Shared-neighbour topics (the default) ask every message's nearest in one unfiltered batch, and
    // no BM25 leg unless keywordNeighbours asks for it.
    expect(stats.vectorSeeds).toBe(46);
    expect(stats.keywordQueries).toBe(0);
    // 46 messages: 3 nearest each (sqrt(46) / 2), not the definition's 10.
    expect(stats.neighbours).toBe(3);
    // A shared-neighbour link needs the background's Q3 (the fence is the threshold rule's bar).
    expect(stats.threshold.used).toBe(Math.max(0.5, stats.threshold.q3));
    expect(stats.threshold.q3).toBeLessThan(stats.threshold.background);
  });

  it("fills the representatives' permalinks from the source", async () => {
    const ports = workspace();
    const asked: number[][] = [];
    const withLinks = Object.assign(ports, {
      permalinks: async (ids: readonly number[]) => {
        asked.push([...ids]);
        return new Map([[1, "https://acme.slack.com/archives/C1/p1"]]);
      },
    });
    const { gaps } = await detectGaps(withLinks, { window });
    const shown = gaps[0]!.sides.flatMap((s) => s.representatives);
    expect(shown.find((m) => m.messageId === 1)?.permalink).toBe("https://acme.slack.com/archives/C1/p1");
    expect(shown.filter((m) => m.messageId !== 1).every((m) => m.permalink === null)).toBe(true);
    expect(asked).toHaveLength(1);
  });

  it("does not report the topic when the sides share people", async () => {
    const ports = workspace({ mobileAuthors: ["carol@x.com", "alice@x.com"] });
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(gaps).toEqual([]);
    expect(stats.rejected.sidesTalk).toBe(1);
  });

  it.each([
    ["a mention of the other channel", "Same OAuth refresh token login redirect issue as in #auth"],
    ["a mention of one of its people", "OAuth refresh token login redirect: asking @carol about it"],
  ])("does not report the topic when one side references the other: %s", async (_, text) => {
    const ports = workspace({
      mobileText: [
        "Mobile login loops: the refresh token from OAuth expires",
        "Users stuck in a login redirect loop, OAuth refresh token invalid",
        text,
      ],
    });
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(gaps).toEqual([]);
    expect(stats.rejected.sidesTalk).toBe(1);
  });

  it("does not report the topic when both sides share a link", async () => {
    const ports = workspace();
    ports.rows[0] = {
      ...ports.rows[0]!,
      content: `${ports.rows[0]!.content} https://issues.example.com/AUTH-12`,
    };
    ports.rows[3] = {
      ...ports.rows[3]!,
      content: `${ports.rows[3]!.content} (https://issues.example.com/AUTH-12).`,
    };
    const { gaps } = await detectGaps(ports, { window });
    expect(gaps).toEqual([]);
  });

  it("needs minMessagesPerSide messages on a side and minConversations sides", async () => {
    const ports = workspace();
    const { gaps } = await detectGaps(ports, {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, minMessagesPerSide: 4 },
    });
    expect(gaps).toEqual([]);
    const three = await detectGaps(ports, {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, minConversations: 3 },
    });
    expect(three.gaps).toEqual([]);
    expect(three.stats.rejected.fewerThanMinConversations).toBeGreaterThan(0);
  });

  it("reads only the window: the topic's messages outside it are not seen", async () => {
    const ports = workspace();
    const { gaps, stats } = await detectGaps(ports, { window: { since: at(2), until: at(8) } });
    expect(gaps).toEqual([]);
    expect(stats.messages).toBe(ports.rows.filter((m) => m.timestamp >= at(2)).length);
  });

  it("keeps gaps with a side in the requested channels only, and applies the limit", async () => {
    const ports = workspace();
    expect((await detectGaps(ports, { window, channels: ["#billing"] })).gaps).toEqual([]);
    expect((await detectGaps(ports, { window, channels: ["#mobile"] })).gaps).toHaveLength(1);
    expect((await detectGaps(ports, { window, limit: 0 })).gaps).toEqual([]);
  });

  it("asks again unfiltered with more candidates when the first ones are all out of reach", async () => {
    const ports = workspace();
    const rand = seededRandom(3);
    // Sixty near-copies of the topic outside the window fill every topic seed's first candidates (k = 48).
    for (let i = 0; i < 60; i++) ports.outside.set(1000 + i, Float32Array.from(vector(rand, 0, 0.01)));
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(stats.widenedQueries).toBeGreaterThan(0);
    expect(stats.filteredQueries).toBe(0);
    expect(ports.filteredQueries).toBe(0);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.sides.map((s) => s.conversations[0]).sort()).toEqual(["#auth", "#mobile"]);
  });

  it("shared neighbours: a seed whose nearest 2,000 lie outside the window asks within the window's time", async () => {
    const ports = workspace();
    const rand = seededRandom(3);
    for (let i = 0; i < 2_100; i++) ports.outside.set(10_000 + i, Float32Array.from(vector(rand, 0, 0.01)));
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(stats.widenedQueries).toBeGreaterThan(0);
    // At least the six topic messages: every unfiltered pass up to 2,000 candidates is near-copies
    // outside (and for background messages leaning towards the topic's axis too).
    expect(stats.filteredQueries).toBeGreaterThanOrEqual(6);
    expect(ports.filteredQueries).toBe(stats.filteredQueries);
    expect(gaps).toHaveLength(1);
    expect([...gaps[0]!.messageIds].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("shared neighbours with keywordNeighbours: BM25's hits join each neighbourhood after the vector ones", async () => {
    const { gaps, stats } = await detectGaps(workspace(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, keywordNeighbours: 3 },
    });
    expect(stats.keywordQueries).toBe(46);
    // The topic's messages share rare words across the channels: BM25 found some of its links too.
    expect(stats.pairs.both + stats.pairs.lexical).toBeGreaterThan(0);
    expect(gaps).toHaveLength(1);
    expect([...gaps[0]!.messageIds].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("threshold rule: bounds the vector leg at 2,000 candidates; such a boilerplate seed keeps the BM25 leg", async () => {
    const ports = workspace();
    const rand = seededRandom(3);
    // More near-copies outside the window than the unfiltered passes may ask for (2,000).
    for (let i = 0; i < 2_100; i++) ports.outside.set(10_000 + i, Float32Array.from(vector(rand, 0, 0.01)));
    const { gaps, stats } = await detectGaps(ports, { window, definition: THRESHOLD });
    expect(stats.widenedQueries).toBeGreaterThan(0);
    expect(stats.unsettledSeeds).toBe(6);
    expect(stats.filteredQueries).toBe(0);
    expect(ports.filteredQueries).toBe(0);
    // The six topic messages were still asked on the BM25 leg, which pairs them (shared rare words).
    expect(stats.keywordQueries).toBeGreaterThanOrEqual(6);
    expect(gaps).toHaveLength(1);
  });

  it("threshold rule: asks the BM25 leg only for messages their vector query has not tied to enough messages elsewhere", async () => {
    // With 2 neighbours, each topic message finds 2 of the other side's 3 by vector: connected.
    const definition = { ...THRESHOLD, neighbours: 2 };
    const skipping = await detectGaps(workspace(), { window, definition });
    const asking = await detectGaps(workspace(), {
      window,
      definition: { ...definition, keywordSkipsConnected: false },
    });
    expect(asking.stats.keywordQueries - skipping.stats.keywordQueries).toBe(6);
    expect(skipping.stats.keywordSkipped - asking.stats.keywordSkipped).toBe(6);
    expect(skipping.gaps.map((g) => g.messageIds)).toEqual(asking.gaps.map((g) => g.messageIds));
    expect(skipping.gaps).toHaveLength(1);
  });

  it("threshold rule: joins a pair BM25 found with less semantic similarity than a vector-only pair needs", async () => {
    const rand = seededRandom(11);
    // Cosine `c` with axis 0: c along it, the rest along axis 1.
    const mixed = (c: number) =>
      Array.from({ length: DIM }, (_, i) => (i === 0 ? c : i === 1 ? Math.sqrt(1 - c * c) : 0));
    const build = (content: string) => {
      const ports = new MemoryGapPorts();
      ports.add({
        id: 1,
        channel: "#a",
        author: "p1",
        content: "kafka consumer lag alert",
        vector: vector(rand, 0, 0),
      });
      ports.add({
        id: 2,
        channel: "#a",
        author: "p2",
        content: "kafka consumer lag again",
        vector: vector(rand, 0, 0),
      });
      // cos with #a ~ 0.47: under the 0.5 floor, within its 0.05 allowance.
      ports.add({ id: 3, channel: "#b", author: "p3", content, vector: mixed(0.47) });
      ports.add({ id: 4, channel: "#b", author: "p4", content, vector: mixed(0.47) });
      return ports;
    };
    const def = { ...THRESHOLD, backgroundFence: -10 };
    const lexical = await detectGaps(build("the kafka consumer lag"), {
      window: { since: at(0), until: at(3) },
      definition: def,
    });
    const semanticOnly = await detectGaps(build("queue backlog growing"), {
      window: { since: at(0), until: at(3) },
      definition: def,
    });
    expect(semanticOnly.gaps).toEqual([]);
    expect(lexical.gaps).toHaveLength(1);
    expect(lexical.stats.pairs.lexical + lexical.stats.pairs.both).toBeGreaterThan(0);
  });

  it("threshold rule: merges a topic over a pair both legs found with the lexical allowance, as for a BM25-only pair", async () => {
    // Axes e0..e2: #b's two messages are near-copies at 0.9 from #a's first; #a's second is at 0.55
    // from them and 0.38 from its channel-mate, so joining it makes the topic's mean cosine 0.493:
    // under the 0.5 threshold, within the 0.05 allowance.
    const e = (...xs: number[]) => Array.from({ length: DIM }, (_, i) => xs[i] ?? 0);
    const b = (0.55 - 0.9 * 0.38) / Math.sqrt(1 - 0.81);
    const build = (shared: boolean) => {
      const ports = new MemoryGapPorts();
      const text = (n: number) =>
        shared ? `kafka consumer lag ${n}` : ["queue", "backlog", "offset", "broker"][n]!;
      ports.add({ id: 1, channel: "#a", author: "p1", content: text(0), vector: e(1) });
      ports.add({
        id: 2,
        channel: "#a",
        author: "p2",
        content: text(1),
        vector: e(0.38, b, Math.sqrt(1 - 0.38 ** 2 - b ** 2)),
      });
      ports.add({ id: 3, channel: "#b", author: "p3", content: text(2), vector: e(0.9, Math.sqrt(0.19)) });
      ports.add({ id: 4, channel: "#b", author: "p4", content: text(3), vector: e(0.9, Math.sqrt(0.19)) });
      return ports;
    };
    const def = { ...THRESHOLD, backgroundFence: -10 };
    const opts = { window: { since: at(0), until: at(3) }, definition: def };
    const both = await detectGaps(build(true), opts);
    expect(both.stats.pairs.both).toBeGreaterThan(0);
    expect(both.gaps).toHaveLength(1);
    expect(both.gaps[0]!.messageIds.length).toBe(4);
    // The same vectors without shared rare terms: the merge needs the full threshold, and #a keeps
    // one message on the topic (not a side).
    const semanticOnly = await detectGaps(build(false), opts);
    expect(semanticOnly.stats.pairs.both + semanticOnly.stats.pairs.lexical).toBe(0);
    expect(semanticOnly.gaps).toEqual([]);
  });

  it("finds nothing in a window of one conversation", async () => {
    const ports = workspace({ background: 0 });
    for (const m of ports.rows.splice(0)) ports.rows.push({ ...m, channel: "#auth" });
    const { gaps, stats } = await detectGaps(ports, { window });
    expect(gaps).toEqual([]);
    expect(stats.keywordQueries).toBe(0);
  });
});

describe("definition helpers", () => {
  it("participant overlap is shared people over the smaller side", () => {
    expect(participantOverlap(new Set(["a", "b", "c", "d"]), new Set(["d", "e"]))).toBe(0.5);
    expect(participantOverlap(new Set(["a"]), new Set())).toBe(0);
  });

  it("the score multiplies its explained parts", () => {
    const s = gapScore(0.8, 0.25, 4);
    expect(s).toEqual({
      value: 0.3,
      similarity: 0.8,
      participantOverlap: 0.25,
      messages: 4,
      sizeFactor: 0.5,
    });
  });

  it("a default window ends at the newest message (never after now) and spans windowDays", async () => {
    const ports = workspace({ background: 0 });
    const w = await resolveWindow(
      ports.messages,
      {},
      DEFAULT_GAP_DEFINITION,
      new Date("2030-01-01T00:00:00Z"),
    );
    expect(w.until.getTime()).toBe(at(2, 2).getTime() + 1);
    expect(w.until.getTime() - w.since.getTime()).toBe(7 * 86_400_000);
    const early = await resolveWindow(ports.messages, {}, DEFAULT_GAP_DEFINITION, at(1, 5));
    expect(early.until).toEqual(at(1, 5));
  });
});

describe("detectGaps, hybrid neighbourhoods (the default)", () => {
  /**
   * The OAuth topic in #auth and #mobile (disjoint people, four messages each); 30 status updates by
   * a bot in the same channels whose vectors sit closer to the topic's than the topic's messages sit
   * to each other; chatter up to 400 messages. By vector alone each topic message's nearest are
   * status updates; the topic's rare words are what tie its messages together.
   */
  function blurredTopic() {
    const rand = seededRandom(5);
    const ports = new MemoryGapPorts();
    let id = 1;
    const topic: [string, string, string][] = [
      ["#auth", "carol@x.com", "OAuth refresh token rotation breaks the login redirect"],
      ["#auth", "alice@x.com", "Planning the OAuth refresh token change for login"],
      ["#auth", "carol@x.com", "OAuth login redirect fails after the refresh token expires"],
      ["#auth", "alice@x.com", "Login redirect after OAuth refresh token rotation: the plan"],
      ["#mobile", "frank@x.com", "Mobile login loops: the OAuth refresh token expires"],
      ["#mobile", "grace@x.com", "Users stuck in the login redirect, OAuth refresh token invalid"],
      ["#mobile", "frank@x.com", "Debugging the OAuth refresh token on the login screen"],
      ["#mobile", "grace@x.com", "OAuth refresh token expired again on the mobile login"],
    ];
    topic.forEach(([channel, author, content], i) => {
      ports.add({ id: id++, channel, author, content, timestamp: at(1, i), vector: vector(rand, 0, 0.12) });
    });
    // Status updates by one bot in the same channels (never a gap: every side has the bot), their
    // vectors nearer each topic message than the topic's messages are to each other.
    for (let i = 0; i < 30; i++) {
      ports.add({
        id: id++,
        channel: ["#auth", "#mobile"][i % 2]!,
        author: "deploybot@x.com",
        content: `Status update ${i}: shipped item${i} today`,
        timestamp: at(2 + (i % 5), i % 24),
        vector: vector(rand, 0, 0.04),
      });
    }
    // 400 messages in all, so each message's 10 nearest are asked.
    addChatter(ports, rand, id, 362, "thing");
    return ports;
  }

  it("finds a topic whose messages share rare words where their vectors alone rank other messages first", async () => {
    const hybrid = await detectGaps(blurredTopic(), { window });
    expect(hybrid.gaps).toHaveLength(1);
    expect([...hybrid.gaps[0]!.messageIds].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(hybrid.gaps[0]!.sides.map((s) => s.conversations)).toEqual([["#auth"], ["#mobile"]]);
    // Both legs ranked the topic's links across the channels.
    expect(hybrid.stats.pairs.both).toBeGreaterThan(0);

    const vectorOnly = await detectGaps(blurredTopic(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, neighbourhoods: "vector" },
    });
    // By vector alone the topic's messages join the bot's updates, and every side then has the bot.
    expect(vectorOnly.gaps.filter((g) => g.messageIds.some((m) => m <= 8))).toEqual([]);
    expect(vectorOnly.stats.rejected.sidesTalk).toBeGreaterThan(0);
  });
});

/** `count` links between distinct pairs of `n` nodes, random weights in [0, 1). */
/** The position of the link between i and j in `links` (either way round), or -1. */
function linkBetween(
  links: { a: ArrayLike<number>; b: ArrayLike<number>; length: number },
  i: number,
  j: number,
) {
  for (let l = 0; l < links.length; l++)
    if ((links.a[l] === i && links.b[l] === j) || (links.a[l] === j && links.b[l] === i)) return l;
  return -1;
}

function randomLinks(rand: () => number, n: number, count: number) {
  const links = {
    a: new Int32Array(count),
    b: new Int32Array(count),
    weight: new Float64Array(count),
    length: 0,
  };
  const seen = new Set<number>();
  while (links.length < count) {
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    if (a === b || seen.has(Math.min(a, b) * n + Math.max(a, b))) continue;
    seen.add(Math.min(a, b) * n + Math.max(a, b));
    links.a[links.length] = a;
    links.b[links.length] = b;
    links.weight[links.length++] = rand();
  }
  return links;
}

describe("detectGaps, cohesion (definition.ts, minCohesion)", () => {
  it("is each gap's mean link weight to its other messages per neighbour slot, as computed pair by pair", () => {
    const n = 60;
    const links = randomLinks(seededRandom(3), n, 400);
    const found = [
      {
        sides: [
          [0, 1, 2],
          [3, 4],
        ],
      },
      {
        sides: [
          [10, 11, 12, 13, 14, 15],
          [20, 21, 22, 23, 24, 25, 26, 27],
        ],
      },
    ];
    const weight = (i: number, j: number) => {
      const l = linkBetween(links, i, j);
      return l < 0 ? 0 : links.weight[l]!;
    };
    for (const k of [3, 10]) {
      // Per message, its link weight to the gap's other messages (or to other sides' only), per slot.
      const expected = (acrossOnly: boolean) =>
        found.map(({ sides }) => {
          const members = sides.flat();
          const sideOf = (i: number) => sides.findIndex((side) => side.includes(i));
          const slots = Math.min(k, members.length - 1);
          const perMessage = members.map(
            (i) =>
              members.reduce(
                (sum, j) => sum + (i === j || (acrossOnly && sideOf(i) === sideOf(j)) ? 0 : weight(i, j)),
                0,
              ) / slots,
          );
          return perMessage.reduce((x, y) => x + y, 0) / members.length;
        });
      const { all, across } = cohesionOf(found, links, k, n);
      const [wantAll, wantAcross] = [expected(false), expected(true)];
      found.forEach((_, g) => {
        expect(all[g]).toBeCloseTo(wantAll[g]!, 10);
        expect(across[g]).toBeCloseTo(wantAcross[g]!, 10);
      });
      // The larger gap has links inside its sides too, so the two measures differ there.
      expect(across[1]).toBeLessThan(all[1]!);
      expect(across[1]).toBeGreaterThan(0);
    }
  });

  it("weighs links inside one conversation at sameConversationLinkWeight, links across at full weight", async () => {
    const detect = (sameConversationLinkWeight: number, minCohesion: number) =>
      detectGaps(workspace(), {
        window,
        definition: { ...DEFAULT_GAP_DEFINITION, sameConversationLinkWeight, minCohesion },
      });
    // The links across #auth and #mobile alone hold the topic together, whatever the weight inside.
    for (const weight of [1, 0.7, 0]) expect((await detect(weight, 0)).gaps).toHaveLength(1);
    // Its cohesion falls as the links inside each channel lose weight: a bar its full-weight links
    // pass is out of reach at 0.7 and at 0.
    expect((await detect(1, 0.6)).gaps).toHaveLength(1);
    expect((await detect(0.7, 0.6)).gaps).toEqual([]);
    expect((await detect(0, 0.6)).gaps).toEqual([]);
  });

  it("reports a gap at or above minCohesion and counts one under it as rejected", async () => {
    const reported = await detectGaps(workspace(), { window });
    expect(reported.gaps).toHaveLength(1);
    expect(reported.stats.rejected.notCohesive).toBe(0);
    // A closed neighbourhood of 4 (3 nearest): no link weighs more than 1, so no gap reaches 1.01.
    const strict = await detectGaps(workspace(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, minCohesion: 1.01 },
    });
    expect(strict.gaps).toEqual([]);
    expect(strict.stats.rejected.notCohesive).toBe(1);
  });

  it("reports a gap whose sides are tied at or above minCrossCohesion, and counts one under it", async () => {
    const reported = await detectGaps(workspace(), { window });
    expect(reported.stats.rejected.sidesLoose).toBe(0);
    // 1.01 is above this gap's cross-side cohesion (the test above: above its overall cohesion
    // too), so the gap, cohesive at the default bar, is rejected for its sides alone.
    const loose = await detectGaps(workspace(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, minCrossCohesion: 1.01 },
    });
    expect(loose.gaps).toEqual([]);
    expect(loose.stats.rejected.notCohesive).toBe(0);
    expect(loose.stats.rejected.sidesLoose).toBe(1);
    // A gap under both bars counts once, as not cohesive.
    const both = await detectGaps(workspace(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, minCohesion: 1.01, minCrossCohesion: 1.01 },
    });
    expect(both.gaps).toEqual([]);
    expect(both.stats.rejected.notCohesive).toBe(1);
    expect(both.stats.rejected.sidesLoose).toBe(0);
  });
});

describe("detectGaps, sides linked across (definition.ts, sidesLinkedAcross)", () => {
  it("keeps exactly the members with a link to a member of another side of their gap", () => {
    const n = 60;
    const links = randomLinks(seededRandom(11), n, 90);
    const found = [
      {
        sides: [
          [0, 1, 2, 3, 4, 5],
          [6, 7, 8],
        ],
      },
      {
        sides: [
          [10, 11, 12, 13],
          [20, 21, 22, 23, 24],
          [30, 31],
        ],
      },
    ];
    const linked = (i: number, j: number) => linkBetween(links, i, j) >= 0;
    const trimmed = linkedAcross(found, links, n);
    let left = 0;
    found.forEach(({ sides }, g) => {
      sides.forEach((side, s) => {
        const others = sides.filter((_, t) => t !== s).flat();
        const want = side.filter((i) => others.some((j) => linked(i, j)));
        expect(trimmed[g]!.sides[s]).toEqual(want);
        left += side.length - want.length;
      });
    });
    // The random links leave some members unlinked across and keep others, so both cases are checked.
    expect(left).toBeGreaterThan(0);
    expect(trimmed.flatMap((f) => f.sides.flat()).length).toBeGreaterThan(0);
  });

  it("leaves a gap whose members are all linked across as it was", async () => {
    // The default trims; the rule before does not.
    expect(DEFAULT_GAP_DEFINITION.sidesLinkedAcross).toBe(true);
    const plain = await detectGaps(workspace(), {
      window,
      definition: { ...DEFAULT_GAP_DEFINITION, sidesLinkedAcross: false },
    });
    const trimmed = await detectGaps(workspace(), { window });
    expect(plain.gaps).toHaveLength(1);
    expect(trimmed.gaps).toEqual(plain.gaps);
    expect(trimmed.stats.rejected.notLinkedAcross).toBe(0);
  });
});

describe("detectGaps, neighbourhood ensemble and member share (definition.ts)", () => {
  it("sharesInside is each message's link weight inside its topic over all of its link weight", () => {
    const n = 30;
    const links = randomLinks(seededRandom(5), n, 120);
    const topicOf = (i: number) => (i < 10 ? 0 : i < 18 ? 10 : i);
    const share = sharesInside(links, topicOf, n);
    for (let i = 0; i < n; i++) {
      let inside = 0;
      let total = 0;
      for (let l = 0; l < links.length; l++) {
        const other = links.a[l] === i ? links.b[l]! : links.b[l] === i ? links.a[l]! : -1;
        if (other < 0) continue;
        total += links.weight[l]!;
        if (topicOf(other) === topicOf(i)) inside += links.weight[l]!;
      }
      expect(share(i)).toBeCloseTo(total > 0 ? inside / total : 0, 10);
    }
  });

  it("ensembleWeight is the mean of the neighbourhoods' overlaps at each cut", () => {
    const wide = [
      [1, 2, 3, 4, 5],
      [0, 2, 5, 6, 7],
      [0, 1, 3, 4, 6],
    ];
    const each = [2, 3, 5].map((cut) => {
      return sharedNeighbourWeight(0, 1, rankedNeighbours(wide.map((l) => l.slice(0, cut))));
    });
    // The cuts disagree (shared {2} at 2 and 3, {2, 5} at 5), so the mean is not any one of them.
    expect(new Set(each).size).toBeGreaterThan(1);
    const ranked = rankedNeighbours(wide, 5);
    expect(ensembleWeight(0, 1, each[1]!, ranked, [2, 5])).toBeCloseTo(
      (each[0]! + each[1]! + each[2]!) / 3,
      12,
    );
    expect(ensembleWeight(0, 1, each[1]!, ranked, [])).toBe(each[1]);
  });

  it("keeps the OAuth gap under both rules, and reports nothing when no member may stay", async () => {
    const detect = (over: Partial<typeof DEFAULT_GAP_DEFINITION>) =>
      detectGaps(workspace(), { window, definition: { ...DEFAULT_GAP_DEFINITION, ...over } });
    const plain = (await detect({ neighbourhoodEnsemble: 0, minMemberShare: 0 })).gaps;
    expect(plain).toHaveLength(1);
    // The defaults (ensemble 4, share 0.3) and a narrower ensemble keep it.
    for (const over of [{}, { neighbourhoodEnsemble: 2 }]) {
      const both = (await detect(over)).gaps;
      expect(both).toHaveLength(1);
      expect(both[0]!.sides.flatMap((side) => side.conversations).sort()).toEqual(["#auth", "#mobile"]);
    }
    // A share above 1 is out of every member's reach: each side falls under two messages.
    expect((await detect({ minMemberShare: 1.01 })).gaps).toEqual([]);
  });
});
