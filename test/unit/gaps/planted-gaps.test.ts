import { describe, expect, it } from "vitest";
import type { CorpusDoc } from "../../../functions/core/eval/beir";
import {
  buildPlantedBenchmark,
  DEFAULT_PLANTED_SETTINGS,
  loadInterval,
  poolScores,
  scorePlanted,
} from "../../../functions/core/eval/planted-gaps";
import type { CoordinationGap } from "../../../functions/core/gaps/gap";

/** A word of its own for topic q (TF-IDF words are three or more letters). */
function word(q: number): string {
  return `kw${String.fromCharCode(97 + (q % 26))}${String.fromCharCode(97 + Math.floor(q / 26))}`;
}

/** 30 topics of 4-6 documents each (each topic's documents share a word: cohesive), plus 40 unjudged documents. */
function collection() {
  const corpus: CorpusDoc[] = [];
  const qrels = new Map<string, Map<string, number>>();
  for (let q = 0; q < 30; q++) {
    const judged = new Map<string, number>();
    for (let d = 0; d < 4 + (q % 3); d++) {
      const id = `q${q}d${d}`;
      corpus.push({ id, title: "", text: `topic ${q} ${word(q)} document ${d}` });
      judged.set(id, 1);
    }
    qrels.set(String(q), judged);
  }
  for (let d = 0; d < 40; d++) corpus.push({ id: `u${d}`, title: "", text: `unjudged ${d}` });
  return { corpus, qrels };
}

describe("planted gap benchmark", () => {
  const { corpus, qrels } = collection();
  const bench = buildPlantedBenchmark(corpus, qrels);

  it("is deterministic for a seed and different for another", () => {
    expect(buildPlantedBenchmark(corpus, qrels)).toEqual(bench);
    expect(
      buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, seed: 19 }).messages,
    ).not.toEqual(bench.messages);
  });

  it("plants gaps in two channels by disjoint people, and the two controls", () => {
    expect(bench.messages).toHaveLength(corpus.length);
    const byId = new Map(bench.messages.map((m) => [m.external_id, m]));
    const gaps = bench.topics.filter((t) => t.kind === "gap");
    expect(gaps).toHaveLength(10);
    for (const t of bench.topics) {
      const msgs = t.docIds.map((d) => byId.get(d)!);
      const channels = [...new Set(msgs.map((m) => m.channel))].sort();
      expect(channels).toEqual([...t.channels].sort());
      const people = (c: string) => new Set(msgs.filter((m) => m.channel === c).map((m) => m.author));
      if (t.kind === "one_channel") expect(channels).toHaveLength(1);
      else {
        expect(channels).toHaveLength(2);
        const [a, b] = channels.map(people);
        const shared = [...a!].filter((p) => b!.has(p));
        if (t.kind === "gap") expect(shared).toEqual([]);
        else expect(shared.length).toBeGreaterThan(0);
      }
    }
    expect(bench.topics.map((t) => t.kind).slice(-2)).toEqual(["one_channel", "shared_people"]);
    // Every message inside the window.
    for (const m of bench.messages) {
      const t = Date.parse(m.timestamp);
      expect(t).toBeGreaterThanOrEqual(bench.window.since.getTime());
      expect(t).toBeLessThan(bench.window.until.getTime());
    }
  });

  it("scores a reported gap as planted only with most messages from the topic and both channels", () => {
    const planted = bench.topics.find((t) => t.kind === "gap")!;
    const control = bench.topics.find((t) => t.kind === "shared_people")!;
    const idOf = new Map(bench.messages.map((m, i) => [i + 1, m.external_id]));
    const numeric = new Map([...idOf].map(([n, e]) => [e, n]));
    const gap = (docs: readonly string[], channels: readonly string[]): CoordinationGap =>
      ({
        label: "x",
        messageIds: docs.map((d) => numeric.get(d)!),
        sides: channels.map((c) => ({ conversations: [c] })),
      }) as unknown as CoordinationGap;
    const score = scorePlanted(
      bench,
      [
        gap(planted.docIds, planted.channels),
        gap(planted.docIds, [planted.channels[0]!, "#elsewhere"]),
        gap(control.docIds, control.channels),
      ],
      (id) => idOf.get(id),
    );
    expect(score.correct).toBe(1);
    expect(score.found).toBe(1);
    expect(score.precision).toBeCloseTo(1 / 3);
    expect(score.recall).toBeCloseTo(1 / 10);
    expect(score.controlsReported).toEqual([control.queryId]);
  });

  it("writes the shared-people control with both people on each side", () => {
    // Over many seeds: a random choice of author per document would leave some side with one person.
    for (let seed = 1; seed <= 30; seed++) {
      const b = buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, seed });
      const control = b.topics.find((t) => t.kind === "shared_people")!;
      const byId = new Map(b.messages.map((m) => [m.external_id, m]));
      for (const c of control.channels) {
        const side = control.docIds.map((d) => byId.get(d)!).filter((m) => m.channel === c);
        expect(new Set(side.map((m) => m.author)).size).toBe(2);
      }
    }
  });

  it("with backgroundAuthors, the background is written by people who post in every channel", () => {
    const shared = buildPlantedBenchmark(corpus, qrels, {
      ...DEFAULT_PLANTED_SETTINGS,
      backgroundAuthors: 3,
    });
    const inTopics = new Set(shared.topics.flatMap((t) => t.docIds));
    const background = shared.messages.filter((m) => !inTopics.has(m.external_id));
    expect(new Set(background.map((m) => m.author))).toEqual(
      new Set(["core1@example.com", "core2@example.com", "core3@example.com"]),
    );
    const channelsOf = (author: string) =>
      new Set(background.filter((m) => m.author === author).map((m) => m.channel)).size;
    expect(channelsOf("core1@example.com")).toBeGreaterThan(1);
    // The planted gaps' sides are still written by disjoint people, none of them a background author.
    const gapAuthors = shared.messages.filter((m) =>
      shared.topics.some((t) => t.kind === "gap" && t.docIds.includes(m.external_id)),
    );
    expect(gapAuthors.some((m) => m.author.startsWith("core"))).toBe(false);
    // The default keeps each channel's own people.
    const own = bench.messages.filter(
      (m) => !new Set(bench.topics.flatMap((t) => t.docIds)).has(m.external_id),
    );
    expect(own.every((m) => m.author.startsWith("team"))).toBe(true);
  });

  it("traces where a planted topic went, and counts it as held when a larger gap has it on both sides", () => {
    const planted = bench.topics.find((t) => t.kind === "gap")!;
    const inTopics = new Set(bench.topics.flatMap((t) => t.docIds));
    const background = bench.messages.filter((m) => !inTopics.has(m.external_id)).map((m) => m.external_id);
    const idOf = new Map(bench.messages.map((m, i) => [i + 1, m.external_id]));
    const numeric = new Map([...idOf].map(([n, e]) => [e, n]));
    const perSide = DEFAULT_PLANTED_SETTINGS.minDocsPerSide;
    const [a, b] = planted.channels;
    const onSide = (c: string | undefined) =>
      planted.docIds
        .filter((d) => bench.messages.find((m) => m.external_id === d)!.channel === c)
        .slice(0, perSide);
    // The topic's documents on both sides, inside a gap mostly made of background.
    const docs = [...onSide(a), ...onSide(b), ...background.slice(0, 4 * perSide)];
    const big = {
      label: "x",
      messageIds: docs.map((d) => numeric.get(d)!),
      sides: planted.channels.map((c) => ({ conversations: [c] })),
    } as unknown as CoordinationGap;
    const score = scorePlanted(bench, [big], (id) => idOf.get(id));
    expect(score.correct).toBe(0);
    expect(score.recall).toBe(0);
    expect(score.recallContained).toBeCloseTo(1 / 10);
    const trace = score.topics.find((t) => t.queryId === planted.queryId)!;
    expect(trace).toMatchObject({
      gap: 0,
      gapMessages: docs.length,
      inGap: { [a!]: perSide, [b!]: perSide },
    });
    expect(score.topics.find((t) => t.kind === "one_channel")!.gap).toBeNull();
    // One side only: not held.
    const oneSide = scorePlanted(
      bench,
      [{ ...big, messageIds: onSide(a).map((d) => numeric.get(d)!) }],
      (id) => idOf.get(id),
    );
    expect(oneSide.recallContained).toBe(0);
  });

  describe("judged scoring (gaps of background only left out of precision)", () => {
    const idOf = new Map(bench.messages.map((m, i) => [i + 1, m.external_id]));
    const numeric = new Map([...idOf].map(([n, e]) => [e, n]));
    const channelOf = new Map(bench.messages.map((m) => [m.external_id, m.channel]));
    const inTopics = new Set(bench.topics.flatMap((t) => t.docIds));
    const background = bench.messages.filter((m) => !inTopics.has(m.external_id)).map((m) => m.external_id);
    const [planted, other] = bench.topics.filter((t) => t.kind === "gap");
    const oneChannel = bench.topics.find((t) => t.kind === "one_channel")!;
    const sharedPeople = bench.topics.find((t) => t.kind === "shared_people")!;
    /** A gap of these documents, one side per channel unless `sides` groups channels. */
    const gap = (docs: readonly string[], sides?: readonly (readonly string[])[]): CoordinationGap => {
      const channels = [...new Set(docs.map((d) => channelOf.get(d)!))];
      return {
        label: "x",
        messageIds: docs.map((d) => numeric.get(d)!),
        sides: (sides ?? channels.map((c) => [c])).map((conversations) => ({ conversations })),
      } as unknown as CoordinationGap;
    };
    const score = (gaps: CoordinationGap[]) => scorePlanted(bench, gaps, (id) => idOf.get(id));

    it("finds a planted topic inside a larger gap of background, and leaves background-only gaps unjudged", () => {
      const s = score([
        gap([...planted!.docIds, ...background.slice(0, 3 * planted!.docIds.length)]),
        gap(background.slice(100, 110)),
      ]);
      expect(s.correct).toBe(0); // strict: the topic is not most of the gap
      expect(s.judged).toMatchObject({
        correct: 1,
        judgedGaps: 1,
        unjudged: 1,
        falseGaps: 0,
        precision: 1,
        recall: 0.1,
      });
      expect(s.judged.found).toEqual([planted!.queryId]);
      expect(s.verdicts.map((v) => v.judged)).toEqual(["planted", "unjudged"]);
    });

    it("needs the topic on both its channels, on different sides, and as most of the judged documents", () => {
      const [a, b] = planted!.channels;
      const onA = planted!.docIds.filter((d) => channelOf.get(d) === a);
      // The giant gap below takes as many of `other`'s documents as `planted` has: it needs that many.
      expect(other!.docIds.length).toBeGreaterThanOrEqual(planted!.docIds.length);
      const s = score([
        // One side only.
        gap([...onA, ...background.slice(0, 6)]),
        // Both channels on one side: the gap says they talk.
        gap(
          [...planted!.docIds, ...background.slice(0, 6)],
          [[a!, b!, ...new Set(background.slice(0, 6).map((d) => channelOf.get(d)!))]],
        ),
        // A giant gap of two planted topics: neither is its judged majority (each is half of it).
        gap([...planted!.docIds, ...other!.docIds.slice(0, planted!.docIds.length)]),
        // All of one half and one document of the other: most of the judged documents, a thin side.
        gap([...onA, planted!.docIds.find((d) => channelOf.get(d) === b)!, ...background.slice(0, 6)]),
      ]);
      expect(s.verdicts.map((v) => v.judged)).toEqual(["false", "false", "false", "false"]);
      expect(s.verdicts.map((v) => v.falseKind)).toEqual(["oneSide", "oneSide", "mixedTopics", "thinSide"]);
      expect(s.judged).toMatchObject({ correct: 0, falseGaps: 4, unjudged: 0, precision: 0, recall: 0 });
      expect(s.judged.falseKinds).toEqual({ oneSide: 2, mixedTopics: 1, thinSide: 1 });
    });

    it("still reports the controls: one channel as most of a gap's judged documents, shared people across sides", () => {
      const s = score([gap([...oneChannel.docIds, ...background.slice(0, 20)])]);
      expect(s.controlsReported).toEqual([]); // strict: not most of all the messages
      expect(s.judged.controlsReported).toEqual([oneChannel.queryId]);
      expect(s.verdicts[0]!.judged).toBe("control");
      // The shared-people control inside a larger gap, its channels on different sides.
      const wide = score([gap([...sharedPeople.docIds, ...planted!.docIds, ...background.slice(0, 30)])]);
      expect(wide.judged.controlsReported).toEqual([sharedPeople.queryId]);
      expect(wide.judged.correct).toBe(0);
      // Its channels on one side (the gap saw them talk), background on the other: not reported,
      // and false (its judged documents are no planted topic's).
      const elsewhere = background
        .filter((d) => !sharedPeople.channels.includes(channelOf.get(d)!))
        .slice(0, 2 * sharedPeople.docIds.length);
      const together = score([
        gap(
          [...sharedPeople.docIds, ...elsewhere],
          [sharedPeople.channels, [...new Set(elsewhere.map((d) => channelOf.get(d)!))]],
        ),
      ]);
      expect(together.judged.controlsReported).toEqual([]);
      expect(together.verdicts[0]!.judged).toBe("false");
    });
  });

  it("with the collection's own conversations, a planted gap's halves neither share people nor name anyone elsewhere", () => {
    // Five conversations of two people; "John" talks in the first two (two people, one name). The
    // turns of even topics greet someone of their own conversation by name, as LoCoMo's turns do.
    const people = [
      ["John", "Maria"],
      ["John", "Tim"],
      ["Gina", "Jon"],
      ["Joanna", "Nate"],
      ["Caroline", "Melanie"],
    ];
    const everyone = [...new Set(people.flat())];
    const corpus: CorpusDoc[] = [];
    const qrels = new Map<string, Map<string, number>>();
    for (let q = 0; q < 40; q++) {
      const judged = new Map<string, number>();
      const c = q % people.length;
      for (let d = 0; d < 4 + (q % 3); d++) {
        const id = `q${q}d${d}`;
        const [me, you] = d % 2 ? people[c]! : [...people[c]!].reverse();
        const greeting = q % 2 === 0 ? `Hey ${you}! ` : "";
        corpus.push({
          id,
          title: "",
          text: `${greeting}topic ${q} ${word(q)} turn ${d}`,
          channel: `#conv-${c}`,
          author: me,
        });
        judged.set(id, 1);
      }
      qrels.set(String(q), judged);
    }
    for (let seed = 1; seed <= 20; seed++) {
      const b = buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, seed });
      const byId = new Map(b.messages.map((m) => [m.external_id, m]));
      const gaps = b.topics.filter((t) => t.kind === "gap");
      expect(gaps.length).toBeGreaterThan(0);
      for (const t of gaps) {
        const pools = t.channels.map((ch) => people[Number(ch!.slice("#conv-".length))]!);
        const sides = t.channels.map((ch) =>
          t.docIds.map((d) => byId.get(d)!).filter((m) => m.channel === ch),
        );
        const authors = sides.map((s) => new Set(s.map((m) => m.author)));
        // No author is someone the other channel has too.
        expect([...authors[0]!].some((p) => pools[1]!.includes(p))).toBe(false);
        expect([...authors[1]!].some((p) => pools[0]!.includes(p))).toBe(false);
        // No half names anyone but its own channel's people.
        sides.forEach((side, k) => {
          const elsewhere = everyone.filter((p) => !pools[k]!.includes(p));
          expect(side.some((m) => elsewhere.some((p) => m.content.includes(`Hey ${p}!`)))).toBe(false);
        });
      }
    }
  });

  /**
   * Four conversations with their own two people each (a collection with conversations, as
   * LoCoMo's): `turn` adds conversation c's message by its k-th person (alternating), `topic` a judged
   * topic of four turns in conversation c.
   */
  function conversations() {
    const people = [
      ["Ann", "Bob"],
      ["Cid", "Dee"],
      ["Eve", "Fay"],
      ["Gus", "Hal"],
    ];
    const corpus: CorpusDoc[] = [];
    const qrels = new Map<string, Map<string, number>>();
    const turn = (id: string, text: string, c: number, k: number) =>
      corpus.push({ id, title: "", text, channel: `#conv-${c}`, author: people[c]![k % 2]! });
    const topic = (q: string, text: string, c: number) => {
      const ids = Array.from({ length: 4 }, (_, d) => `${q}-${d}`);
      ids.forEach((id, d) => {
        turn(id, text, c, d);
      });
      qrels.set(q, new Map(ids.map((id) => [id, 1])));
    };
    return { corpus, qrels, turn, topic };
  }

  describe("cohesive topics (the default selection)", () => {
    /**
     * 20 cohesive topics (a word of their own), and two that are not one subject: "scattered", whose
     * four documents each share a word with a different background pair and none with each other,
     * and "two-pairs", two pairs that each share a word, the pairs nothing (each document has a
     * topic-mate, the topic is still two subjects). Unjudged filler keeps every topic word rare.
     */
    function mixed() {
      const corpus: CorpusDoc[] = [];
      const qrels = new Map<string, Map<string, number>>();
      const judge = (q: string, ids: string[]) => qrels.set(q, new Map(ids.map((id) => [id, 1])));
      for (let q = 0; q < 20; q++) {
        const ids = Array.from({ length: 4 }, (_, d) => `q${q}d${d}`);
        for (const id of ids) corpus.push({ id, title: "", text: word(q) });
        judge(String(q), ids);
      }
      const scattered = Array.from({ length: 4 }, (_, d) => `s${d}`);
      scattered.forEach((id, d) => {
        corpus.push({ id, title: "", text: word(40 + d) });
        // Two background documents share its word: its neighbours are those, not its topic.
        for (let k = 0; k < 2; k++) corpus.push({ id: `s${d}b${k}`, title: "", text: word(40 + d) });
      });
      judge("scattered", scattered);
      const pairs = ["p0", "p1", "p2", "p3"];
      pairs.forEach((id, d) => {
        corpus.push({ id, title: "", text: `${word(50 + Math.floor(d / 2))} ${word(60 + d)}` });
      });
      judge("two-pairs", pairs);
      for (let d = 0; d < 60; d++) corpus.push({ id: `u${d}`, title: "", text: `filler ${d}` });
      return { corpus, qrels };
    }

    it("plants and controls only cohesive topics; --topics all may plant any", () => {
      const { corpus, qrels } = mixed();
      let plantedWithAll = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const settings = { ...DEFAULT_PLANTED_SETTINGS, seed, plantedGaps: 16 };
        const b = buildPlantedBenchmark(corpus, qrels, settings);
        expect(b.selection).toMatchObject({ sizedTopics: 22, cohesiveTopics: 20 });
        const used = b.topics.map((t) => t.queryId);
        expect(used).not.toContain("scattered");
        expect(used).not.toContain("two-pairs");
        expect(b.topics.filter((t) => t.kind !== "gap").map((t) => t.kind)).toEqual([
          "one_channel",
          "shared_people",
        ]);
        const all = buildPlantedBenchmark(corpus, qrels, { ...settings, topics: "all" });
        plantedWithAll += all.topics.filter((t) => ["scattered", "two-pairs"].includes(t.queryId)).length;
      }
      expect(plantedWithAll).toBeGreaterThan(0);
    });

    it("with distinctTopics, plants no two topics of one subject; without it (the default) some seed does", () => {
      // Eight pairs of cohesive topics; both topics of a pair are about one word (one subject).
      const corpus: CorpusDoc[] = [];
      const qrels = new Map<string, Map<string, number>>();
      for (let q = 0; q < 8; q++)
        for (const half of ["a", "b"]) {
          const ids = Array.from({ length: 4 }, (_, d) => `t${q}${half}${d}`);
          for (const id of ids) corpus.push({ id, title: "", text: word(q) });
          qrels.set(`t${q}${half}`, new Map(ids.map((id) => [id, 1])));
        }
      for (let d = 0; d < 60; d++) corpus.push({ id: `u${d}`, title: "", text: `filler ${d}` });
      const bothOfAPair = (b: ReturnType<typeof buildPlantedBenchmark>) => {
        const used = new Set(b.topics.map((t) => t.queryId));
        return Array.from({ length: 8 }, (_, q) => q).filter((q) => used.has(`t${q}a`) && used.has(`t${q}b`))
          .length;
      };
      let withoutRule = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const settings = { ...DEFAULT_PLANTED_SETTINGS, seed, plantedGaps: 6 };
        const b = buildPlantedBenchmark(corpus, qrels, { ...settings, distinctTopics: true });
        expect(b.topics.filter((t) => t.kind === "gap").length).toBeGreaterThan(0);
        expect(bothOfAPair(b)).toBe(0);
        withoutRule += bothOfAPair(buildPlantedBenchmark(corpus, qrels, settings));
      }
      expect(withoutRule).toBeGreaterThan(0);
    });

    it("with more gaps asked than cohesive topics, keeps both controls and plants the rest", () => {
      const { corpus, qrels } = mixed();
      const b = buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, plantedGaps: 50 });
      expect(b.topics.filter((t) => t.kind === "one_channel")).toHaveLength(1);
      expect(b.topics.filter((t) => t.kind === "shared_people")).toHaveLength(1);
      expect(b.topics.filter((t) => t.kind === "gap").length).toBeGreaterThan(10);
      expect(b.topics.filter((t) => t.kind === "gap").length).toBeLessThanOrEqual(18);
    });

    it("puts the controls in their subject's channel, the one-channel control the topic with no subject-mate elsewhere", () => {
      // Four conversations with their own people. Topic "inside" (conversation 2) has background
      // turns on its subject in its own conversation only; topic "leaky" (conversation 0) has them in
      // conversation 1 too; ten more cohesive topics are in conversation 3, each with a subject-mate
      // in conversation 1. So only "inside" can be the control, and it stays where its turns came from.
      const { corpus, qrels, turn, topic } = conversations();
      const topicWithMate = (q: string, w: string, c: number, mateIn: number) => {
        topic(q, w, c);
        turn(`${q}-mate`, w, mateIn, 0);
      };
      topicWithMate("inside", word(0), 2, 2);
      topicWithMate("leaky", word(1), 0, 1);
      for (let q = 0; q < 10; q++) topicWithMate(`t${q}`, word(10 + q), 3, 1);
      for (let d = 0; d < 60; d++) turn(`u${d}`, `filler ${d}`, d % 4, d);
      for (let seed = 1; seed <= 10; seed++) {
        const b = buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, seed, plantedGaps: 3 });
        const control = b.topics.find((t) => t.kind === "one_channel")!;
        expect(control.queryId).toBe("inside");
        expect(control.channels).toEqual(["#conv-2"]);
        expect(b.selection.controlsOutsideShare[0]).toBe(0);
        const byId = new Map(b.messages.map((m) => [m.external_id, m]));
        // Written by its own conversation's people, as the collection had it.
        for (const d of control.docIds)
          expect(byId.get(d)!.author).toBe(corpus.find((x) => x.id === d)!.author);
        expect(byId.get("inside-mate")!.channel).toBe("#conv-2");
        // The shared-people control has one half in its own subject's conversation.
        const shared = b.topics.find((t) => t.kind === "shared_people")!;
        const origin = corpus.find((x) => x.id === shared.docIds[0])!.channel;
        expect(shared.channels[0]).toBe(origin);
        expect(shared.channels[1]).not.toBe(origin);
        // The old generator put the control in a channel at random.
        const all = buildPlantedBenchmark(corpus, qrels, {
          ...DEFAULT_PLANTED_SETTINGS,
          seed,
          plantedGaps: 3,
          topics: "all",
        });
        expect(all.topics.find((t) => t.kind === "one_channel")).toBeDefined();
      }
    });

    it("puts one half of each planted gap in its topic's subject channel (placement home); random need not", () => {
      // Twelve cohesive topics whose turns all come from #conv-1, so #conv-1 is every topic's
      // subject channel.
      const { corpus, qrels, turn, topic } = conversations();
      for (let q = 0; q < 12; q++) topic(`t${q}`, word(q), 1);
      for (let d = 0; d < 60; d++) turn(`u${d}`, `filler ${d}`, d % 4, 0);
      let randomAway = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const settings = { ...DEFAULT_PLANTED_SETTINGS, seed, plantedGaps: 4 };
        const b = buildPlantedBenchmark(corpus, qrels, settings);
        const byId = new Map(b.messages.map((m) => [m.external_id, m]));
        const gaps = b.topics.filter((t) => t.kind === "gap");
        expect(gaps.length).toBeGreaterThan(0);
        for (const g of gaps) {
          expect(g.channels[0]).toBe("#conv-1");
          expect(g.channels[1]).not.toBe("#conv-1");
          const where = new Set(g.docIds.map((d) => byId.get(d)!.channel));
          expect(where).toEqual(new Set(g.channels));
        }
        const random = buildPlantedBenchmark(corpus, qrels, { ...settings, placement: "random" });
        randomAway += random.topics.filter((t) => t.kind === "gap" && !t.channels.includes("#conv-1")).length;
      }
      expect(randomAway).toBeGreaterThan(0);
    });
  });
});

describe("poolScores", () => {
  const { corpus, qrels } = collection();
  /** One load: its planted gaps reported whole (`found` of them), and its shared-people control when asked. */
  function load(seed: number, found: number, control: boolean) {
    const b = buildPlantedBenchmark(corpus, qrels, { ...DEFAULT_PLANTED_SETTINGS, seed });
    const idOf = new Map(b.messages.map((m, i) => [i + 1, m.external_id]));
    const numeric = new Map([...idOf].map(([n, e]) => [e, n]));
    const gap = (t: (typeof b.topics)[number]) =>
      ({
        label: t.queryId,
        messageIds: t.docIds.map((d) => numeric.get(d)!),
        sides: t.channels.map((c) => ({ conversations: [c] })),
      }) as unknown as CoordinationGap;
    const planted = b.topics.filter((t) => t.kind === "gap").slice(0, found);
    const shared = b.topics.filter((t) => t.kind === "shared_people");
    return scorePlanted(b, [...planted, ...(control ? shared : [])].map(gap), (id) => idOf.get(id));
  }

  it("sums the loads' counts before dividing, and counts the loads that reported a control", () => {
    const loads = [load(1, 10, false), load(2, 4, true), load(3, 0, false)];
    expect(loads.map((s) => [s.judged.correct, s.judged.judgedGaps, s.planted])).toEqual([
      [10, 10, 10],
      [4, 5, 10],
      [0, 0, 10],
    ]);
    const pooled = poolScores(loads);
    expect(pooled.loads).toBe(3);
    expect(pooled.planted).toBe(30);
    expect(pooled.judged).toMatchObject({ correct: 14, judgedGaps: 15, found: 14 });
    // Micro-averaged: 14 / 15, not the mean of the loads' precisions (1, 0.8 and 1 for none judged).
    expect(pooled.judged.precision).toBeCloseTo(14 / 15);
    expect(pooled.judged.recall).toBeCloseTo(14 / 30);
    expect(pooled.strict).toEqual({ correct: 14, reported: 15, found: 14 });
    expect(pooled.loadsReportingControls).toBe(1);
    // Over loads this different the interval is wide, and holds the pooled value.
    const [lo, hi] = pooled.judged.intervals.recall;
    expect(lo).toBeLessThan(pooled.judged.recall);
    expect(hi).toBeGreaterThan(pooled.judged.recall);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
  });

  it("resamples loads for its interval: none for identical loads, reproducibly, and as a sampling check", () => {
    expect(
      loadInterval(
        [
          [3, 4],
          [3, 4],
          [3, 4],
        ],
        0,
      ),
    ).toEqual([0.75, 0.75]);
    expect(loadInterval([], 1)).toEqual([1, 1]);
    expect(loadInterval([[0, 0]], 1)).toEqual([1, 1]);
    const loads: [number, number][] = Array.from({ length: 12 }, (_, i) => [10 + (i % 5), 20]);
    expect(loadInterval(loads, 0)).toEqual(loadInterval(loads, 0));
    // The spread of a mean of 12 draws: the loads' own spread (sd 1.41 of 20) over sqrt(12), times 1.96.
    const [lo, hi] = loadInterval(loads, 0);
    const mean = loads.reduce((s, [p]) => s + p, 0) / (12 * 20);
    const half = (1.96 * Math.sqrt(2) * Math.sqrt(11 / 12)) / Math.sqrt(12) / 20;
    expect(lo).toBeCloseTo(mean - half, 1);
    expect(hi).toBeCloseTo(mean + half, 1);
    expect(hi - lo).toBeGreaterThan(half);
  });
});
