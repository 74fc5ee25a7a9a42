import "./quiet-env";
import { seededRandom } from "../functions/core/gaps/detect-gaps";
import { closeClients } from "../functions/shared/clients";
import { generatorSettings, readPlantedNamespace } from "./planted-namespace";

/**
 * `npx tsx bench/gaps-diagnose.ts NAMESPACE DATASET [SEED [GAPS [TOPICS]]]`: what the stored vectors of a
 * planted benchmark allow, independent of the detector (bench/quality.md, coordination gaps).
 * NAMESPACE is one `trisearch gaps-eval --keep` loaded with DATASET and the default generator (seed
 * SEED, 18; GAPS planted, 10; TOPICS cohesive or all, cohesive).
 * Exact cosines over the window: the quartiles of random cross-channel pairs and the background
 * fence (Q3 + 1.5 IQR); per planted topic the mean cosine of its cross-channel pairs, how many of
 * its documents have one of its own documents from the other channel among their 10 nearest
 * messages in other channels, and whether its own mutual 10-nearest pairs join at least
 * minDocsPerSide documents in each of its channels (a detector built on mutual nearest neighbours
 * can then join it without help from background documents).
 */
const [name, dataset, seedArg, gapsArg, topicsArg] = process.argv.slice(2);
if (!name || !dataset)
  throw new Error("usage: bench/gaps-diagnose.ts NAMESPACE DATASET [SEED [GAPS [cohesive|all]]]");
const settings = generatorSettings(seedArg, gapsArg, topicsArg);
const {
  dataset: ds,
  bench,
  messages,
  stored,
  external,
} = await readPlantedNamespace(name, dataset, settings);
const kept = messages.filter((m) => stored.has(m.id));
const n = kept.length;
const vectors = kept.map((m) => {
  const v = stored.get(m.id)!;
  const norm = Math.hypot(...v) || 1;
  return Float32Array.from(v, (x) => x / norm);
});
const channel = kept.map((m) => m.channel);
const cos = (i: number, j: number) => {
  let s = 0;
  const a = vectors[i]!;
  const b = vectors[j]!;
  for (let d = 0; d < a.length; d++) s += a[d]! * b[d]!;
  return s;
};
const rand = seededRandom(1);
const sample: number[] = [];
// Tries capped as in detect-gaps.ts backgroundFence (a one-channel namespace has no such pairs).
for (let tries = 0; sample.length < 20_000 && tries < 80_000; tries++) {
  const i = Math.floor(rand() * n);
  const j = Math.floor(rand() * n);
  if (channel[i] !== channel[j]) sample.push(cos(i, j));
}
if (sample.length === 0) throw new Error("no pair of messages in different channels");
sample.sort((a, b) => a - b);
// The detector's quantile (backgroundFence), so the printed fence is its threshold's formula.
const q = (p: number) => sample[Math.min(sample.length - 1, Math.floor(p * sample.length))]!;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
console.log(
  `${ds.name}, seed ${settings.seed}: ${n} messages; random cross-channel pairs Q1 ${r3(q(0.25))}, median ${r3(q(0.5))}, Q3 ${r3(q(0.75))}, p99 ${r3(q(0.99))}, p99.9 ${r3(q(0.999))}; fence Q3 + 1.5 IQR ${r3(q(0.75) + 1.5 * (q(0.75) - q(0.25)))}`,
);
// The 10 nearest messages in other channels, exact.
const K = 10;
const nearest: Set<number>[] = [];
for (let i = 0; i < n; i++) {
  const best: { j: number; s: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (channel[j] === channel[i]) continue;
    const s = cos(i, j);
    if (best.length < K || s > best[best.length - 1]!.s) {
      best.push({ j, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > K) best.pop();
    }
  }
  nearest.push(new Set(best.map((b) => b.j)));
}
const indexOf = new Map(kept.map((m, i) => [external.get(m.id)!, i]));
let joinable = 0;
for (const t of bench.topics) {
  const idx = t.docIds.map((d) => indexOf.get(d)).filter((i): i is number => i !== undefined);
  const cross: number[] = [];
  const parent = new Map(idx.map((i) => [i, i]));
  const find = (i: number): number => (parent.get(i) === i ? i : find(parent.get(i)!));
  let withOwn = 0;
  for (const i of idx) {
    if (idx.some((j) => channel[j] !== channel[i] && nearest[i]!.has(j))) withOwn++;
    for (const j of idx) {
      if (j <= i || channel[j] === channel[i]) continue;
      cross.push(cos(i, j));
      if (nearest[i]!.has(j) && nearest[j]!.has(i)) parent.set(find(j), find(i));
    }
  }
  const components = new Map<number, Map<string, number>>();
  for (const i of idx) {
    const byChannel = components.get(find(i)) ?? new Map<string, number>();
    byChannel.set(channel[i]!, (byChannel.get(channel[i]!) ?? 0) + 1);
    components.set(find(i), byChannel);
  }
  const ownPairsJoin =
    t.kind === "gap" &&
    [...components.values()].some((m) =>
      t.channels.every((ch) => (m.get(ch) ?? 0) >= settings.minDocsPerSide),
    );
  if (ownPairsJoin) joinable++;
  const mean = cross.length > 0 ? cross.reduce((a, x) => a + x, 0) / cross.length : Number.NaN;
  console.log(
    `  ${t.queryId} ${t.kind} ${t.channels.join("+")}: ${idx.length} docs, cross-channel mean cosine ${r3(mean)}, ${withOwn} with an own document among their ${K} nearest elsewhere, own mutual pairs join both sides: ${t.kind === "gap" ? ownPairsJoin : "-"}`,
  );
}
console.log(
  `planted topics whose own mutual ${K}-nearest pairs join both sides: ${joinable}/${settings.plantedGaps}`,
);
await closeClients();
