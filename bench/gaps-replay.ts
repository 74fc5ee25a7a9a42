import "./quiet-env";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { readDataset } from "../cli/eval/dataset";
import {
  buildPlantedBenchmark,
  DEFAULT_PLANTED_SETTINGS,
  type PlantedGapSettings,
  reportedControls,
  scorePlanted,
  shuffle,
} from "../functions/core/eval/planted-gaps";
import { DEFAULT_GAP_DEFINITION, type GapDefinition } from "../functions/core/gaps/definition";
import { detectGaps, seededRandom } from "../functions/core/gaps/detect-gaps";
import type { CoordinationGap } from "../functions/core/gaps/gap";
import type { GapDetectionPorts, WindowMessage } from "../functions/core/gaps/ports";
import type { LegHit } from "../functions/core/model";
import { nearestUnitVectors, toUnit } from "../functions/core/search/exact-nearest";
import { closeClients } from "../functions/shared/clients";
import { generatorSettings, readPlantedNamespace } from "./planted-namespace";

/**
 * Offline replays of gap detection on a planted benchmark (bench/quality.md, coordination gaps):
 *
 *   npx tsx bench/gaps-replay.ts dump NAMESPACE DATASET SEED GAPS OUT.json [cohesive|all]
 *     records a `gaps-eval --keep` namespace (loaded with `--topics`, default cohesive): the window's messages, their stored vectors, and
 *     every message's BM25 more-like-this answer (30 hits outside its channel, the product's query);
 *   npx tsx bench/gaps-replay.ts run DUMP.json [DEFINITION-JSON] [--orders N]
 *     runs the product's detectGaps over the recording (exact nearest neighbours instead of HNSW,
 *     the recorded more-like-this answers) with the default definition or the JSON's overrides,
 *     and prints the strict and judged scores. With --orders N it also runs the window's messages
 *     in N - 1 seeded shuffled orders (ties in fusion and linkage break by position, as they break
 *     by message id in the product) and prints each order's judged score, and the recorded order's
 *     gaps kept only when a gap with Jaccard >= 0.5 of their messages is reported in at least a
 *     share s of the orders (s = 0.5, 0.7, 1): how much of a load's score is tie-breaking.
 *
 * It measures a detector change on the same vectors many times without the CPU of a load; a
 * result is confirmed with `gaps-eval --reuse` before it is recorded.
 */
interface Recording {
  readonly dataset: string;
  readonly settings: PlantedGapSettings;
  readonly messages: (Omit<WindowMessage, "timestamp"> & { timestamp: string; externalId: string })[];
  readonly vectors: Record<string, number[]>;
  readonly moreLikeThis: Record<string, LegHit[]>;
}

const [command, ...args] = process.argv.slice(2);
if (command === "dump") await dump(args);
else if (command === "run") await run(args);
else
  throw new Error(
    "usage: gaps-replay.ts dump NAMESPACE DATASET SEED GAPS OUT.json [cohesive|all] | run DUMP.json [JSON]",
  );

async function dump([name, dataset, seed, gaps, out, topics]: string[]): Promise<void> {
  if (!name || !dataset || !seed || !gaps || !out)
    throw new Error("dump NAMESPACE DATASET SEED GAPS OUT.json [cohesive|all]");
  const settings = generatorSettings(seed, gaps, topics);
  const {
    dataset: ds,
    bench,
    ports,
    messages,
    stored,
    external,
  } = await readPlantedNamespace(name, dataset, settings);
  const moreLikeThis: Record<string, LegHit[]> = {};
  for (let i = 0; i < messages.length; i += 50) {
    const batch = messages.slice(i, i + 50);
    const answers = await ports.keyword.moreLikeThis(
      batch.map((m) => ({ like: [m.id], excludeChannels: [m.channel], window: bench.window, size: 30 })),
    );
    batch.forEach((m, b) => {
      moreLikeThis[m.id] = answers[b] ?? [];
    });
  }
  const recording: Recording = {
    dataset: ds.name,
    settings,
    messages: messages.map((m) => ({
      ...m,
      timestamp: m.timestamp.toISOString(),
      externalId: external.get(m.id) ?? "",
    })),
    vectors: Object.fromEntries([...stored].map(([id, v]) => [id, Array.from(v)])),
    moreLikeThis,
  };
  await writeFile(out, JSON.stringify(recording));
  console.log(`${out}: ${messages.length} messages, ${stored.size} vectors`);
  await closeClients();
}

async function run(args: string[]): Promise<void> {
  const flag = args.indexOf("--orders");
  const orders = flag >= 0 ? Number(args[flag + 1]) : 1;
  const [file, overrides] = flag >= 0 ? args.filter((_, i) => i !== flag && i !== flag + 1) : args;
  if (!file || !Number.isInteger(orders) || orders < 1) throw new Error("run DUMP.json [JSON] [--orders N]");
  const rec = JSON.parse(await readFile(file, "utf8")) as Recording;
  const parsed = overrides
    ? (JSON.parse(overrides) as Partial<GapDefinition> | Partial<GapDefinition>[])
    : {};
  const definitions: GapDefinition[] = (Array.isArray(parsed) ? parsed : [parsed]).map((o) => ({
    ...DEFAULT_GAP_DEFINITION,
    ...o,
  }));
  const ds = await readDataset(`../shared/data/${rec.dataset}`);
  // Recordings made before the cohesion rule hold no `topics`: they are the "all" generator's.
  const bench = buildPlantedBenchmark(ds.corpus, ds.qrels, {
    ...DEFAULT_PLANTED_SETTINGS,
    ...rec.settings,
    topics: rec.settings.topics ?? "all",
    // Before `placement` existed, halves went to two channels at random.
    placement: rec.settings.placement ?? "random",
    // Recordings made before `distinctTopics` existed: planted topics could be subject-mates.
    distinctTopics: rec.settings.distinctTopics ?? false,
  });
  const messages: WindowMessage[] = rec.messages.map((m) => ({ ...m, timestamp: new Date(m.timestamp) }));
  const channelOf = new Map(messages.map((m) => [m.id, m.channel]));
  const units = Object.entries(rec.vectors).map(([id, v]) => ({
    messageId: Number(id),
    unit: toUnit(v, new Float64Array(v.length)),
  }));
  const vectors = new Map(Object.entries(rec.vectors).map(([id, v]) => [Number(id), Float32Array.from(v)]));
  const ports: GapDetectionPorts = {
    messages: {
      windowMessages: async () => messages,
      newestMessageAt: async () => null,
    },
    vectors: {
      vectorsOf: async (ids) =>
        new Map(ids.flatMap((id) => (vectors.has(id) ? [[id, vectors.get(id)!]] : []))),
      nearestMany: async (queries, limit) => queries.map((q) => nearestUnitVectors(q, units, limit)),
      count: async () => units.length,
    },
    semantic: {
      query: async (embedding, filters, limit) =>
        nearestUnitVectors(
          embedding,
          units.filter(
            (u) => !filters.channels || filters.channels.includes(channelOf.get(u.messageId) ?? ""),
          ),
          limit,
        ),
    },
    keyword: {
      moreLikeThis: async (queries) =>
        queries.map((q) =>
          (rec.moreLikeThis[q.like[0]!] ?? [])
            .filter((h) => !q.excludeChannels.includes(channelOf.get(h.messageId) ?? ""))
            .slice(0, q.size),
        ),
    },
  };
  const external = new Map(rec.messages.map((m) => [m.id, m.externalId]));
  const recorded = [...messages];
  for (const definition of definitions) {
    const label = Array.isArray(parsed) ? parsed[definitions.indexOf(definition)] : parsed;
    const result = await detectGaps(ports, { window: bench.window, definition });
    const s = scorePlanted(bench, result.gaps, (id) => external.get(id));
    const j = s.judged;
    console.log(
      JSON.stringify({
        definition: label,
        dataset: rec.dataset,
        seed: rec.settings.seed,
        planted: s.planted,
        threshold: result.stats.threshold.used,
        reported: s.reported,
        strict: `${s.correct}/${s.reported} r=${s.found}`,
        judgedP: Number(j.precision.toFixed(3)),
        judgedR: Number(j.recall.toFixed(3)),
        correct: j.correct,
        false: j.falseGaps,
        unjudged: j.unjudged,
        controls: reportedControls(s),
        falseKinds: j.falseKinds,
        // Two runs report the same gaps (members, scores, labels) exactly when their digests match.
        digest: createHash("sha256")
          .update(JSON.stringify(result.gaps.map((g) => [g.messageIds, g.score, g.label])))
          .digest("hex")
          .slice(0, 16),
        found: j.found,
        // Each planted topic's size, found or missed (small topics are most of the misses).
        sizes: Object.fromEntries(
          ["found", "missed"].map((k) => [
            k,
            s.topics
              .filter((t) => t.kind === "gap" && j.found.includes(t.queryId) === (k === "found"))
              .map((t) => t.docs),
          ]),
        ),
        falseGaps: s.verdicts
          .filter((v) => v.judged === "false" || v.judged === "control")
          .map(
            (v) =>
              `${v.topic}:${v.judgedMessages}/${v.messages}:${v.sides.map((x) => x.join("+")).join("|")}`,
          ),
      }),
    );
    if (orders > 1) await inOrders(definition, label, result.gaps);
  }

  /** The same recording in shuffled message orders (see the header): tie-breaking's share of a score. */
  async function inOrders(
    definition: GapDefinition,
    label: unknown,
    base: readonly CoordinationGap[],
  ): Promise<void> {
    const runs: (readonly CoordinationGap[])[] = [base];
    for (let o = 1; o < orders; o++) {
      // The ports read `messages`: reorder it in place for this run, restored below.
      messages.splice(0, messages.length, ...shuffle([...recorded], seededRandom(o)));
      runs.push((await detectGaps(ports, { window: bench.window, definition })).gaps);
    }
    messages.splice(0, messages.length, ...recorded);
    const judged = (gaps: readonly CoordinationGap[]) => {
      const j = scorePlanted(bench, gaps, (id) => external.get(id)).judged;
      return {
        judgedP: Number(j.precision.toFixed(3)),
        judgedR: Number(j.recall.toFixed(3)),
        correct: j.correct,
        false: j.falseGaps,
      };
    };
    const sets = runs.map((gaps) => gaps.map((g) => new Set(g.messageIds)));
    const jaccard = (a: ReadonlySet<number>, b: ReadonlySet<number>) => {
      let shared = 0;
      for (const x of a) if (b.has(x)) shared++;
      return shared / (a.size + b.size - shared);
    };
    const presence = sets[0]!.map(
      (own) => sets.filter((gaps) => gaps.some((other) => jaccard(own, other) >= 0.5)).length / orders,
    );
    console.log(
      JSON.stringify({
        definition: label,
        seed: rec.settings.seed,
        orders: runs.map(judged),
        stableIn: Object.fromEntries(
          [0.5, 0.7, 1].map((share) => [share, judged(base.filter((_, g) => presence[g]! >= share))]),
        ),
      }),
    );
  }
}
