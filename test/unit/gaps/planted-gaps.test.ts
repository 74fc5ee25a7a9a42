import { describe, expect, it } from "vitest";
import type { CorpusDoc } from "../../../functions/core/eval/beir";
import {
  buildPlantedBenchmark,
  DEFAULT_PLANTED_SETTINGS,
  scorePlanted,
} from "../../../functions/core/eval/planted-gaps";
import type { CoordinationGap } from "../../../functions/core/gaps/gap";

/** 30 topics of 4-6 documents each, plus 40 unjudged documents. */
function collection() {
  const corpus: CorpusDoc[] = [];
  const qrels = new Map<string, Map<string, number>>();
  for (let q = 0; q < 30; q++) {
    const judged = new Map<string, number>();
    for (let d = 0; d < 4 + (q % 3); d++) {
      const id = `q${q}d${d}`;
      corpus.push({ id, title: "", text: `topic ${q} document ${d}` });
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
});
