import {
  type PlantedGapSettings,
  type PooledScore,
  poolScores,
  reportedControls,
} from "../../functions/core/eval/planted-gaps";
import { closeClients } from "../../functions/shared/clients";
import { parseFlags } from "../args";
import { readDataset } from "../eval/dataset";
import { writeReport } from "../eval/report-file";
import { dropNamespace, type GapsEvalReport, runGapsEval } from "../eval/run-gaps-eval";
import { formatTable } from "../progress";

export const summary = "Precision and recall of coordination-gap detection on a planted benchmark";

const HELP = `Usage: trisearch gaps-eval [--dataset DIR] [--seed N | --seeds LIST] [--gaps N] [--channels N]
                          [--background-authors N] [--topics cohesive|all] [--placement home|random]
                          [--distinct-topics yes|no] [--json FILE]

Builds a planted-gap benchmark from a judged collection (functions/core/eval/planted-gaps.ts):
some topics' relevant documents become messages in two channels by disjoint people (planted gaps),
one topic stays in one channel and one is split across two channels by the same people (controls,
not gaps), the rest is background. Loads it into an isolated namespace through POST /messages,
runs gap detection over the window and prints precision, recall, false gaps and the controls,
under the strict scoring and the judged one (gaps holding no planted or control document are
unjudged, left out of precision; bench/quality.md says why).

  --dataset DIR     a BEIR collection (default test/fixtures/cranfield)
  --seed N          generator seed (default 18)
  --seeds LIST      several fresh loads, one per seed (e.g. 18-24 or 18,20,25-28), then their
                    scores pooled: counts summed over the loads before dividing (the targets in
                    bench/quality.md are read this way); not with --seed, --keep or --reuse
  --gaps N          planted gaps (default 10)
  --channels N      channels (default 8)
  --background-authors N
                    0 (default): each channel's own people write its background; N: N people
                    who post in every channel write it (bench/quality.md says why)
  --topics cohesive|all
                    cohesive (default): plant only topics that are one subject in TF-IDF space,
                    and put the one-channel control in its subject's channel with no subject-mate
                    elsewhere; all: any judged topic (the generator before 2026-12-05)
  --placement home|random
                    cohesive topics only. home (default): one half of a planted gap in the topic's
                    subject channel, the other in another channel; random: two channels at random
  --distinct-topics yes|no
                    cohesive topics only. yes: no two planted topics are subject-mates (TF-IDF
                    neighbours; fewer topics can be planted); no (default): they may be
  --json FILE       write the full report as JSON
  --keep            keep the namespace (prints its name)
  --reuse NAME      detect again on a namespace an earlier --keep run loaded (same settings)
  --drop NAME       remove a namespace an earlier --keep run left, and exit`;

/** "18-24,30" -> [18, ..., 24, 30]; at most 50 loads. */
export function seedList(v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const seeds: number[] = [];
  for (const part of String(v).split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || to < from || to - from >= 50)
      throw new Error(`--seeds must be seeds and ranges like 18-24,30, got ${String(v)}`);
    for (let seed = from; seed <= to; seed++) if (!seeds.includes(seed)) seeds.push(seed);
  }
  if (seeds.length > 50) throw new Error(`--seeds allows at most 50 loads, got ${seeds.length}`);
  return seeds;
}

function intFlag(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got ${String(v)}`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const flags = parseFlags(
    args,
    {
      dataset: { type: "string" },
      seed: { type: "string" },
      seeds: { type: "string" },
      gaps: { type: "string" },
      channels: { type: "string" },
      "background-authors": { type: "string" },
      topics: { type: "string" },
      placement: { type: "string" },
      "distinct-topics": { type: "string" },
      json: { type: "string" },
      keep: { type: "boolean" },
      reuse: { type: "string" },
      drop: { type: "string" },
    },
    HELP,
  );
  if (!flags) return 0;
  const v = flags.values;
  if (typeof v.drop === "string") {
    try {
      await dropNamespace(v.drop);
      console.log(`dropped ${v.drop}`);
      return 0;
    } finally {
      await closeClients();
    }
  }
  const dataset = await readDataset(typeof v.dataset === "string" ? v.dataset : "test/fixtures/cranfield");
  const seed = intFlag("seed", v.seed);
  const seeds = seedList(v.seeds);
  if (seeds && (seed !== undefined || v.keep || v.reuse !== undefined))
    throw new Error("--seeds makes fresh loads: it does not go with --seed, --keep or --reuse");
  const gaps = intFlag("gaps", v.gaps);
  const channels = intFlag("channels", v.channels);
  const backgroundAuthors = intFlag("background-authors", v["background-authors"]);
  const topics = v.topics;
  if (topics !== undefined && topics !== "cohesive" && topics !== "all")
    throw new Error(`--topics must be cohesive or all, got ${String(topics)}`);
  const placement = v.placement;
  if (placement !== undefined && placement !== "home" && placement !== "random")
    throw new Error(`--placement must be home or random, got ${String(placement)}`);
  const distinct = v["distinct-topics"];
  if (distinct !== undefined && distinct !== "yes" && distinct !== "no")
    throw new Error(`--distinct-topics must be yes or no, got ${String(distinct)}`);
  let cleanup: (() => Promise<void>) | undefined;
  const onSigint = () => {
    console.error("\nInterrupted: removing the namespace...");
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSigint);
  let lastPhase = "";
  const settings: Partial<PlantedGapSettings> = {
    ...(gaps !== undefined ? { plantedGaps: gaps } : {}),
    ...(channels !== undefined ? { channels } : {}),
    ...(backgroundAuthors !== undefined ? { backgroundAuthors } : {}),
    ...(topics !== undefined ? { topics } : {}),
    ...(placement !== undefined ? { placement } : {}),
    ...(distinct !== undefined ? { distinctTopics: distinct === "yes" } : {}),
  };
  const onProgress = (phase: string, done: number, total: number) => {
    if (phase !== lastPhase || done >= total) {
      if (phase !== lastPhase) console.error(`${phase}...`);
      lastPhase = phase;
    }
  };
  try {
    if (seeds) {
      const loads: GapsEvalReport[] = [];
      for (const s of seeds) {
        console.error(`seed ${s} (${loads.length + 1} of ${seeds.length})`);
        const report = await runGapsEval(dataset, {
          settings: { ...settings, seed: s },
          onNamespace: (ns) => {
            cleanup = () => ns.close();
          },
          onProgress,
        });
        loads.push(report);
        console.log(loadLine(report));
      }
      const pooled = poolScores(loads.map((r) => r.score));
      console.log(`\n${pooledSummary(pooled)}`);
      if (typeof v.json === "string") await writeReport(v.json, { pooled, loads });
      return 0;
    }
    const report = await runGapsEval(dataset, {
      settings: { ...settings, ...(seed !== undefined ? { seed } : {}) },
      keep: Boolean(v.keep),
      ...(typeof v.reuse === "string" ? { reuse: v.reuse } : {}),
      onNamespace: (ns) => {
        cleanup = v.keep ? undefined : () => ns.close();
        if (v.keep)
          console.error(`keeping namespace ${ns.name} (--reuse ${ns.name} runs detection on it again)`);
      },
      onProgress,
    });
    console.log(`\n${gapsEvalSummary(report)}`);
    if (typeof v.json === "string") await writeReport(v.json, report);
    return 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
    await closeClients();
  }
}

/** One load of a --seeds run, in a line. */
function loadLine(r: GapsEvalReport): string {
  const j = r.score.judged;
  const controls = reportedControls(r.score);
  return (
    `seed ${r.generator.seed}: judged precision ${j.precision.toFixed(3)} (${j.correct}/${j.judgedGaps}), ` +
    `recall ${j.recall.toFixed(3)} (${j.found.length}/${r.score.planted}), ${j.unjudged} unjudged, ` +
    `controls reported: ${controls.length === 0 ? "none" : controls.join(", ")}; detect ${r.timings.detectSeconds}s`
  );
}

const range = ([lo, hi]: readonly [number, number]) => `${lo.toFixed(3)}-${hi.toFixed(3)}`;

function pooledSummary(p: PooledScore): string {
  const j = p.judged;
  return [
    `pooled over ${p.loads} loads (${p.planted} planted gaps): judged precision ${j.precision.toFixed(3)} ` +
      `(${j.correct}/${j.judgedGaps}; 95 % over loads ${range(j.intervals.precision)}), recall ${j.recall.toFixed(3)} ` +
      `(${j.found}/${p.planted}; ${range(j.intervals.recall)}), ${j.unjudged} unjudged; ` +
      `loads reporting a control: ${p.loadsReportingControls}`,
    `strict: precision ${(p.strict.reported === 0 ? 1 : p.strict.correct / p.strict.reported).toFixed(3)} ` +
      `(${p.strict.correct}/${p.strict.reported}), recall ${(p.planted === 0 ? 0 : p.strict.found / p.planted).toFixed(3)} (${p.strict.found}/${p.planted})`,
  ].join("\n");
}

export function gapsEvalSummary(r: GapsEvalReport): string {
  const s = r.score;
  const j = s.judged;
  const lines = [
    `${r.dataset.name}: ${r.dataset.messages} messages in ${r.dataset.channels} channels, seed ${r.generator.seed}; ` +
      `${s.planted} planted gaps (${r.generator.topics} topics: ${r.selection.cohesiveTopics} of ${r.selection.sizedTopics} sized topics cohesive); ${r.definition.topics} topics; ${r.definition.topics === "threshold" ? "threshold" : "link floor (background Q3)"} ${r.stats.threshold.used} (floor ${r.stats.threshold.floor}, background Q3 ${r.stats.threshold.q3}, fence Q3 + ${r.definition.backgroundFence} IQR = ${r.stats.threshold.background})`,
    `precision ${s.precision.toFixed(3)} (${s.correct}/${s.reported} reported gaps are planted ones), ` +
      `recall ${s.recall.toFixed(3)} (${s.found}/${s.planted} planted gaps found), ${s.falseGaps.length} false gap(s)`,
    `controls reported: ${s.controlsReported.length === 0 ? "none" : s.controlsReported.join(", ")}`,
    `judged scoring (gaps with no planted or control document left out, bench/quality.md): precision ${j.precision.toFixed(3)} ` +
      `(${j.correct}/${j.judgedGaps} judged gaps), recall ${j.recall.toFixed(3)} (${j.found.length}/${s.planted}), ` +
      `${j.falseGaps} false (one side ${j.falseKinds.oneSide}, mixed topics ${j.falseKinds.mixedTopics}, thin side ${j.falseKinds.thinSide}), ${j.unjudged} unjudged; controls reported: ${j.controlsReported.length === 0 ? "none" : j.controlsReported.join(", ")}`,
    `(secondary) planted gaps held on both sides by some reported gap, majority or not: ${s.recallContained.toFixed(3)}`,
  ];
  if (s.verdicts.length > 0) {
    lines.push(
      "",
      formatTable(
        s.verdicts.map((x, k) => ({
          "#": k + 1,
          gap: x.label.slice(0, 40),
          channels: x.channels.join(" "),
          msgs: x.messages,
          topic: x.topic ?? "-",
          kind: x.topicKind,
          share: x.share.toFixed(2),
          verdict: x.correct ? "planted" : "FALSE",
          judged: `${x.judged}${x.topic ? ` (${x.topic} ${x.judgedShare.toFixed(2)} of ${x.judgedMessages})` : ""}`,
        })),
      ),
    );
  }
  lines.push(
    "",
    "Where each planted topic went (the reported gap holding most of its documents):",
    formatTable(
      s.topics.map((t) => ({
        topic: t.queryId,
        kind: t.kind,
        docs: t.docs,
        gap: t.gap === null ? "-" : `#${t.gap + 1} (${t.gapMessages} msgs)`,
        "its docs there": Object.entries(t.inGap)
          .map(([c, n]) => `${c}:${n}`)
          .join(" "),
      })),
    ),
  );
  lines.push(
    "",
    `load ${r.timings.loadSeconds}s, index ${r.timings.indexSeconds}s, detect ${r.timings.detectSeconds}s`,
  );
  return lines.join("\n");
}
