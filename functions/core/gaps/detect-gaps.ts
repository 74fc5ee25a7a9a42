import { type ConversationRef, conversationKey } from "../access/access";
import type { LegHit } from "../model";
import { candidateCount, DEFAULT_FILTERED_SEARCH } from "../search/filtered-vector-search";
import { reciprocalRankFusion } from "../search/fusion";
import { type SideProfile, sidesReference } from "./cross-reference";
import { DEFAULT_GAP_DEFINITION, type GapDefinition, gapScore, participantOverlap } from "./definition";
import type { CoordinationGap, GapMessage, GapSide } from "./gap";
import { lexicalNeighbours } from "./lexical-neighbours";
import type { GapDetectionPorts, GapWindow, MoreLikeThisQuery, WindowMessage } from "./ports";
import {
  averageLinkage,
  findRoot,
  type Links,
  listsNeighbour,
  type RankedNeighbours,
  rankedNeighbours,
  sharedNeighbourWeight,
} from "./shared-neighbours";
import { distinctiveTerms, documentFrequencies, labelWords } from "./terms";

export interface DetectGapsOptions {
  readonly window: GapWindow;
  /** Report only gaps with a side in one of these conversations (all are still read: a gap needs both sides). */
  readonly channels?: readonly string[];
  readonly limit?: number;
  readonly definition?: GapDefinition;
  /** Query vectors per nearest-neighbour round trip. */
  readonly vectorBatch?: number;
  /** More-like-this queries per round trip. */
  readonly keywordBatch?: number;
  /** Round trips in flight per leg. */
  readonly concurrency?: number;
  /** Seed for the background-similarity sample (the result is deterministic for a window). */
  readonly seed?: number;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
}

export interface GapDetectionStats {
  readonly messages: number;
  readonly withVectors: number;
  readonly conversations: number;
  /**
   * The cosine a pair needs: max(definition floor, the window's background fence) under the threshold
   * rule, max(definition floor, the background's Q3) for a shared-neighbour link (definition.ts, topics).
   */
  readonly threshold: {
    readonly floor: number;
    readonly background: number;
    readonly q3: number;
    readonly used: number;
  };
  /**
   * Nearest messages asked per message: the definition's `neighbours`, or fewer in a small window
   * with shared-neighbour topics (at most sqrt(messages) / 2).
   */
  readonly neighbours: number;
  /** Seeds answered by the unfiltered batch (nearestMany), and by the semantic leg's filter paths. */
  readonly vectorSeeds: number;
  /**
   * Seeds asked again unfiltered with more candidates, per round: all of theirs were in their own
   * channel or outside the window (threshold), or too many outside the window (shared neighbours).
   */
  readonly widenedQueries: number;
  /**
   * Threshold topics: seeds with more than the filter paths' most candidates (2,000) nearer out of
   * reach, not asked further on the vector leg. Shared-neighbour topics ask those within the
   * window's time instead (filteredQueries).
   */
  readonly unsettledSeeds: number;
  readonly filteredQueries: number;
  readonly keywordQueries: number;
  /**
   * Seeds not asked on the BM25 leg: nothing elsewhere near enough for any of its pairs to pass, or
   * (keywordSkipsConnected) their own vector query already found `neighbours` messages elsewhere.
   */
  readonly keywordSkipped: number;
  /**
   * Pairs in different conversations by the leg that found them: threshold topics, every pair that
   * passed; shared-neighbour topics, the links between conversations inside a topic.
   */
  readonly pairs: { readonly semantic: number; readonly lexical: number; readonly both: number };
  readonly topics: number;
  readonly rejected: {
    readonly fewerThanMinConversations: number;
    readonly sidesTalk: number;
    /** Shared-neighbour topics: gaps left with fewer than minConversations sides once members linked to no other side leave (sidesLinkedAcross). */
    readonly notLinkedAcross: number;
    /** Shared-neighbour topics: gaps under the definition's minCohesion. */
    readonly notCohesive: number;
    /** Shared-neighbour topics: cohesive gaps whose cross-side cohesion is under minCrossCohesion. */
    readonly sidesLoose: number;
  };
  readonly gaps: number;
  readonly timingsMs: Record<"read" | "vectors" | "semantic" | "keyword" | "cluster" | "total", number>;
}

export interface GapDetectionResult {
  readonly window: GapWindow;
  readonly gaps: CoordinationGap[];
  readonly stats: GapDetectionStats;
}

const BACKGROUND_SAMPLE = 20_000;

/**
 * Coordination gaps in one window (definition.ts says what one is). Bounded by the window: it reads
 * the window's messages and their vectors once, then groups them into topics (by default: each
 * message's nearest messages in the window, linked by shared neighbours, average linkage; with
 * `topics: "threshold"`, each leg's nearest messages in other conversations above a cosine
 * threshold) and keeps the topics whose sides neither share people nor reference each other.
 */
export async function detectGaps(
  ports: GapDetectionPorts,
  opts: DetectGapsOptions,
): Promise<GapDetectionResult> {
  const def = opts.definition ?? DEFAULT_GAP_DEFINITION;
  const started = performance.now();
  const timings = { read: 0, vectors: 0, semantic: 0, keyword: 0, cluster: 0, total: 0 };
  let mark = started;
  const lap = (phase: Phase) => {
    const now = performance.now();
    timings[phase] = Math.round(now - mark);
    mark = now;
  };
  const messages = await ports.messages.windowMessages(opts.window);
  lap("read");
  const vectorMap =
    messages.length > 0 ? await ports.vectors.vectorsOf(messages.map((m) => m.id)) : new Map();
  lap("vectors");

  const n = messages.length;
  const index = new Map<number, number>();
  messages.forEach((m, i) => {
    index.set(m.id, i);
  });
  const vectors: (Float32Array | undefined)[] = messages.map((m) => vectorMap.get(m.id));
  vectorMap.clear();
  const norms = vectors.map((v) => (v ? Math.sqrt(dot(v, v)) : 0));
  const cosine = (i: number, j: number) => {
    const d = norms[i]! * norms[j]!;
    return d > 0 ? dot(vectors[i]!, vectors[j]!) / d : 0;
  };
  const seedsByChannel = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    if (!vectors[i]) continue;
    const ch = messages[i]!.channel;
    const list = seedsByChannel.get(ch) ?? [];
    list.push(i);
    seedsByChannel.set(ch, list);
  }
  const withVectors = [...seedsByChannel.values()].reduce((a, s) => a + s.length, 0);
  const quartiles = backgroundQuartiles(messages, vectors, cosine, opts.seed ?? 1);
  // Tukey's fence Q3 + k x IQR (definition.ts, backgroundFence), or -1 with no pairs to sample.
  const background = quartiles ? quartiles.q3 + def.backgroundFence * (quartiles.q3 - quartiles.q1) : -1;
  const threshold = Math.max(def.minSimilarity, background);
  // A shared-neighbour link's floor: the background's Q3 (definition.ts, topics).
  const linkFloor = Math.max(def.minSimilarity, quartiles?.q3 ?? -1);
  const stats: LegStats = {
    neighbours: def.neighbours,
    vectorSeeds: 0,
    widenedQueries: 0,
    unsettledSeeds: 0,
    filteredQueries: 0,
    keywordQueries: 0,
    keywordSkipped: 0,
  };
  const channels = [...seedsByChannel.keys()];
  const sharedNeighbours = def.topics === "shared-neighbours";
  // Each message's words, read once: the word leg of hybrid neighbourhoods and the labels use them.
  let words: Set<string>[] | undefined;
  const wordsOf = () => {
    words ??= messages.map((m) => labelWords(m.content));
    return words;
  };
  const read: WindowRead = {
    ports,
    opts,
    def,
    messages,
    vectors,
    norms,
    cosine,
    index,
    seedsByChannel,
    withVectors,
    stats,
    lap,
    wordsOf,
  };
  const { members, pairs, topicOf, links }: Topics =
    channels.length < def.minConversations
      ? { members: new Map(), pairs: new Map(), topicOf: (i) => i }
      : sharedNeighbours
        ? await sharedNeighbourTopics(read, linkFloor)
        : await thresholdTopics(read, threshold);

  const threads = new Map<string, number[]>();
  messages.forEach((m, i) => {
    if (m.threadId === null) return;
    const key = `${m.channel}\u0000${m.threadId}`;
    const list = threads.get(key);
    if (list) list.push(i);
    else threads.set(key, [i]);
  });
  const rejected = {
    fewerThanMinConversations: 0,
    sidesTalk: 0,
    notLinkedAcross: 0,
    notCohesive: 0,
    sidesLoose: 0,
  };
  let found: FoundGap[] = [];
  const shareInside = links && def.minMemberShare > 0 ? sharesInside(links, topicOf, n) : undefined;
  for (const [topic, all] of members) {
    // A member with most of its links outside its topic is a stray there (definition.ts, minMemberShare).
    const list = shareInside ? [...all].filter((i) => shareInside(i) >= def.minMemberShare) : [...all];
    const byChannel = new Map<string, number[]>();
    for (const i of list.sort((a, b) => a - b)) {
      const ch = messages[i]!.channel;
      const side = byChannel.get(ch);
      if (side) side.push(i);
      else byChannel.set(ch, [i]);
    }
    const channelSides = [...byChannel.values()].filter((s) => s.length >= def.minMessagesPerSide);
    if (channelSides.length < def.minConversations) {
      rejected.fewerThanMinConversations++;
      continue;
    }
    // Sides that share people or reference each other talk: they are one side of the gap.
    const profiles = channelSides.map((s) => profile(s, messages, threads));
    const talk = channelSides.map((_, i) => i);
    const top = (i: number): number => (talk[i] === i ? i : top(talk[i]!));
    for (let a = 0; a < profiles.length; a++) {
      for (let b = a + 1; b < profiles.length; b++) {
        const pa = profiles[a]!;
        const pb = profiles[b]!;
        const talking =
          participantOverlap(pa.people, pb.people) > def.maxParticipantOverlap ||
          sidesReference(pa, pb, def.crossReference) !== null;
        if (talking) talk[top(b)] = top(a);
      }
    }
    const groups = new Map<number, number[]>();
    channelSides.forEach((s, i) => {
      groups.set(top(i), [...(groups.get(top(i)) ?? []), ...s]);
    });
    if (groups.size < def.minConversations) {
      rejected.sidesTalk++;
      continue;
    }
    found.push({ topic, sides: [...groups.values()] });
  }
  if (links && def.sidesLinkedAcross) {
    // A side is the part of its conversation that takes part in the shared topic (definition.ts,
    // sidesLinkedAcross): members linked to no other side leave, then thin sides and gaps go.
    const kept: FoundGap[] = [];
    for (const f of linkedAcross(found, links, n)) {
      const sides = f.sides.filter((s) => s.length >= def.minMessagesPerSide);
      if (sides.length >= def.minConversations) kept.push({ ...f, sides });
      else rejected.notLinkedAcross++;
    }
    found = kept;
  }
  if (links && (def.minCohesion > 0 || def.minCrossCohesion > 0)) {
    // A subject's loose group across conversations is not one piece of work (definition.ts,
    // minCohesion), nor is a group whose sides are barely tied to each other (minCrossCohesion).
    const { all, across } = cohesionOf(found, links, stats.neighbours, n);
    const kept: FoundGap[] = [];
    found.forEach((f, g) => {
      if (all[g]! < def.minCohesion) rejected.notCohesive++;
      else if (across[g]! < def.minCrossCohesion) rejected.sidesLoose++;
      else kept.push(f);
    });
    found = kept;
  }

  let df: Map<string, number> | undefined;
  const gaps: CoordinationGap[] = [];
  // Each topic's pairs, so a gap scores over its own (not every pair of the window per gap).
  const pairsOfTopic = new Map<number, number[]>();
  if (found.length > 0) {
    const wanted = new Set(found.map((f) => f.topic));
    for (const key of pairs.keys()) {
      const topic = topicOf(Math.floor(key / n));
      if (!wanted.has(topic)) continue;
      const list = pairsOfTopic.get(topic);
      if (list) list.push(key);
      else pairsOfTopic.set(topic, [key]);
    }
  }
  for (const { topic, sides } of found) {
    const wordSets = wordsOf();
    df ??= documentFrequencies(wordSets);
    const sideOf = new Map<number, number>();
    sides.forEach((s, k) => {
      for (const i of s) sideOf.set(i, k);
    });
    // Similarity: the mean cosine of the retrieved pairs that join different sides.
    let simSum = 0;
    let simCount = 0;
    for (const key of pairsOfTopic.get(topic) ?? []) {
      const { sim } = pairs.get(key)!;
      const a = sideOf.get(Math.floor(key / n));
      const b = sideOf.get(key % n);
      if (a !== undefined && b !== undefined && a !== b) {
        simSum += sim;
        simCount++;
      }
    }
    const all = sides.flat();
    const centre = new Float64Array(vectors[all[0]!]!.length);
    for (const i of all) {
      const v = vectors[i]!;
      for (let d = 0; d < centre.length; d++) centre[d]! += v[d]! / (norms[i] || 1);
    }
    const gapSides: GapSide[] = sides
      .map((s) => ({
        conversations: [...new Set(s.map((i) => messages[i]!.channel))].sort(),
        ...conversationRefsOf(s.map((i) => messages[i]!)),
        people: [...new Set(s.map((i) => messages[i]!.author))].sort(),
        messageCount: s.length,
        representatives: [...s]
          .sort((a, b) => cosineOf(centre, vectors[b]!) - cosineOf(centre, vectors[a]!) || a - b)
          .slice(0, def.representatives)
          .map((i) => toGapMessage(messages[i]!)),
      }))
      .sort(
        (a, b) => b.messageCount - a.messageCount || a.conversations[0]!.localeCompare(b.conversations[0]!),
      );
    const times = all.map((i) => messages[i]!.timestamp.getTime());
    const terms = distinctiveTerms(
      sides.map((s) => s.map((i) => wordSets[i]!)),
      df,
      n,
      def.labelTerms,
    );
    const ids = sides.flatMap((s) => s.map((i) => messages[i]!.id));
    gaps.push({
      key: `${Math.min(...ids)}:${gapSides
        .flatMap((s) => s.conversations)
        .sort()
        .join(",")}`,
      label:
        terms.length > 0 ? terms.join(" ") : (gapSides[0]!.representatives[0]?.content.slice(0, 60) ?? ""),
      terms,
      sides: gapSides,
      firstAt: new Date(Math.min(...times)),
      lastAt: new Date(Math.max(...times)),
      score: gapScore(simCount > 0 ? simSum / simCount : 0, sidesOverlap(sides, messages), all.length),
      messageIds: ids,
    });
  }
  const listed = selectGaps(gaps, opts.channels, opts.limit);
  const shown = ports.permalinks ? await withPermalinks(listed, ports.permalinks) : listed;
  lap("cluster");
  timings.total = Math.round(performance.now() - started);

  let semanticPairs = 0;
  let lexicalPairs = 0;
  let both = 0;
  for (const { legs } of pairs.values()) {
    const by = legs & (SEMANTIC | LEXICAL);
    if (by === (SEMANTIC | LEXICAL)) both++;
    else if (by === SEMANTIC) semanticPairs++;
    else lexicalPairs++;
  }
  return {
    window: opts.window,
    gaps: shown,
    stats: {
      messages: n,
      withVectors,
      conversations: channels.length,
      threshold: {
        floor: def.minSimilarity,
        background: round3(background),
        q3: round3(quartiles?.q3 ?? -1),
        used: round3(sharedNeighbours ? linkFloor : threshold),
      },
      ...stats,
      pairs: { semantic: semanticPairs, lexical: lexicalPairs, both },
      topics: members.size,
      rejected,
      gaps: shown.length,
      timingsMs: timings,
    },
  };
}

type Phase = "read" | "vectors" | "semantic" | "keyword" | "cluster" | "total";

/** The retrieval counters both topic rules fill (GapDetectionStats says what each is). */
type LegStats = {
  -readonly [K in
    | "neighbours"
    | "vectorSeeds"
    | "widenedQueries"
    | "unsettledSeeds"
    | "filteredQueries"
    | "keywordQueries"
    | "keywordSkipped"]: number;
};

/** The window as read once, and what a topic rule needs beside it. */
interface WindowRead {
  readonly ports: GapDetectionPorts;
  readonly opts: DetectGapsOptions;
  readonly def: GapDefinition;
  readonly messages: readonly WindowMessage[];
  readonly vectors: readonly (Float32Array | undefined)[];
  readonly norms: readonly number[];
  readonly cosine: (i: number, j: number) => number;
  /** Message id -> position in `messages`. */
  readonly index: ReadonlyMap<number, number>;
  readonly seedsByChannel: ReadonlyMap<string, number[]>;
  readonly withVectors: number;
  readonly stats: LegStats;
  /** Records the time since the last phase ended. */
  readonly lap: (phase: Phase) => void;
  /** Each message's label words (terms.ts), read once. */
  readonly wordsOf: () => readonly ReadonlySet<string>[];
}

/** A pair of messages in different conversations: its cosine and which leg (and end) found it. */
interface Pair {
  readonly sim: number;
  legs: number;
}

/** A topic whose sides do not talk: its messages by side. */
interface FoundGap {
  readonly topic: number;
  readonly sides: readonly (readonly number[])[];
}

/** The largest participant overlap between two sides of a gap (its score's "not talking" part). */
function sidesOverlap(sides: FoundGap["sides"], messages: readonly WindowMessage[]): number {
  const people = sides.map((s) => new Set(s.map((i) => messages[i]!.author)));
  let overlap = 0;
  for (let a = 0; a < people.length; a++)
    for (let b = a + 1; b < people.length; b++)
      overlap = Math.max(overlap, participantOverlap(people[a]!, people[b]!));
  return overlap;
}

/**
 * Where each message sits among the gaps (position in `found`, then side), -1 outside them: a message
 * is in one topic, so in one gap at most. What the passes over the links below read.
 */
function placeInGaps(
  found: readonly Pick<FoundGap, "sides">[],
  n: number,
): { gapOf: Int32Array; sideOf: Int32Array } {
  const gapOf = new Int32Array(n).fill(-1);
  const sideOf = new Int32Array(n).fill(-1);
  found.forEach((f, g) => {
    f.sides.forEach((side, s) => {
      for (const i of side) {
        gapOf[i] = g;
        sideOf[i] = s;
      }
    });
  });
  return { gapOf, sideOf };
}

/** What a topic rule hands on: the topics' members, their pairs between conversations, each message's topic. */
interface Topics {
  /** Topic (a representative message) -> its messages. */
  readonly members: Map<number, Set<number>>;
  /** Key i * n + j (i < j), between conversations; a gap's similarity is their mean across its sides. */
  readonly pairs: Map<number, Pair>;
  readonly topicOf: (i: number) => number;
  /** Shared-neighbour topics: the weighted links, which a gap's cohesion reads. */
  readonly links?: Links;
}

const SEMANTIC = 1;
const LEXICAL = 2;
// Which end's query found the pair: the smaller index's (FROM_LOW) or the larger's (FROM_HIGH).
const FROM_LOW = 4;
const FROM_HIGH = 8;

/**
 * Topics by shared nearest neighbours (definition.ts, topics; shared-neighbours.ts): each message's
 * nearest in the window, links between listed neighbours above `linkFloor` weighted by their
 * neighbourhoods' overlap, average linkage.
 */
async function sharedNeighbourTopics(w: WindowRead, linkFloor: number): Promise<Topics> {
  const { def, messages, cosine } = w;
  const n = messages.length;
  // The neighbour lists are garbage once the links exist (the links outlive them for the cohesion).
  const { links, legs } = await neighbourLinks(w, linkFloor);
  const group = averageLinkage(n, links, def.minSharedNeighbours);
  const members = new Map<number, Set<number>>();
  const pairs = new Map<number, Pair>();
  for (let k = 0; k < links.length; k++) {
    const a = links.a[k]!;
    const b = links.b[k]!;
    if (group[a] !== group[b]) continue;
    const set = members.get(group[a]!) ?? new Set<number>();
    set.add(a).add(b);
    members.set(group[a]!, set);
    // A topic's links between conversations score it and count in the stats.
    if (messages[a]!.channel === messages[b]!.channel) continue;
    pairs.set(a < b ? a * n + b : b * n + a, { sim: cosine(a, b), legs: legs[k]! });
  }
  return { members, pairs, topicOf: (i) => group[i]!, links };
}

/**
 * Per message, the share of its link weight that lies inside its own topic (definition.ts,
 * minMemberShare); 0 for a message with no links.
 */
export function sharesInside(links: Links, topicOf: (i: number) => number, n: number): (i: number) => number {
  const inside = new Float64Array(n);
  const total = new Float64Array(n);
  for (let l = 0; l < links.length; l++) {
    const a = links.a[l]!;
    const b = links.b[l]!;
    const weight = links.weight[l]!;
    total[a]! += weight;
    total[b]! += weight;
    if (topicOf(a) === topicOf(b)) {
      inside[a]! += weight;
      inside[b]! += weight;
    }
  }
  return (i) => (total[i]! > 0 ? inside[i]! / total[i]! : 0);
}

/**
 * Each gap with its sides cut to the members linked to a member of another side (definition.ts,
 * sidesLinkedAcross); one pass over the links. One pass suffices: a cross link keeps both its ends.
 */
export function linkedAcross<G extends Pick<FoundGap, "sides">>(
  found: readonly G[],
  links: Links,
  n: number,
): G[] {
  const { gapOf, sideOf } = placeInGaps(found, n);
  const across = new Uint8Array(n);
  for (let l = 0; l < links.length; l++) {
    const a = links.a[l]!;
    const b = links.b[l]!;
    // Every link weighs above 0 (one end lists the other, so they share a neighbour).
    if (gapOf[a]! < 0 || gapOf[a] !== gapOf[b] || sideOf[a] === sideOf[b]) continue;
    across[a] = 1;
    across[b] = 1;
  }
  return found.map((f) => ({ ...f, sides: f.sides.map((side) => side.filter((i) => across[i] === 1)) }));
}

/**
 * A link's weight over several cuts of the neighbourhoods (definition.ts, neighbourhoodEnsemble):
 * the mean of its weight at the k cut (`atK`) and its Jaccard overlaps at each deeper or shallower cut.
 */
export function ensembleWeight(
  i: number,
  j: number,
  atK: number,
  ranked: RankedNeighbours,
  cuts: readonly number[],
): number {
  let sum = atK;
  for (const cut of cuts) sum += sharedNeighbourWeight(i, j, ranked, cut);
  return sum / (1 + cuts.length);
}

/**
 * Each gap's cohesion (definition.ts, minCohesion): the mean over its m messages of their link
 * weights to its other messages over min(k, m - 1), i.e. twice its internal link weight over
 * m x min(k, m - 1); and the same over the links between its sides only (minCrossCohesion). One
 * pass over the links: a message is in one topic, so in one gap at most.
 */
export function cohesionOf(
  found: readonly Pick<FoundGap, "sides">[],
  links: Links,
  k: number,
  n: number,
): { all: number[]; across: number[] } {
  const { gapOf, sideOf } = placeInGaps(found, n);
  const internal = new Float64Array(found.length);
  const between = new Float64Array(found.length);
  for (let l = 0; l < links.length; l++) {
    const a = links.a[l]!;
    const b = links.b[l]!;
    const g = gapOf[a]!;
    if (g < 0 || g !== gapOf[b]) continue;
    internal[g]! += links.weight[l]!;
    if (sideOf[a] !== sideOf[b]) between[g]! += links.weight[l]!;
  }
  const slots = found.map((f) => {
    const m = f.sides.reduce((sum, side) => sum + side.length, 0);
    return m * Math.min(k, m - 1);
  });
  return {
    all: found.map((_, g) => (2 * internal[g]!) / slots[g]!),
    across: found.map((_, g) => (2 * between[g]!) / slots[g]!),
  };
}

/**
 * Each message's neighbourhood (definition.ts, neighbourhoods) and the weighted links between
 * listed neighbours above `linkFloor`, with the legs that ranked each link.
 */
async function neighbourLinks(w: WindowRead, linkFloor: number): Promise<{ links: Links; legs: Uint8Array }> {
  const { def, messages, vectors, cosine, stats } = w;
  const n = messages.length;
  // Two unrelated messages share k^2 / n of their k nearest by chance: k <= sqrt(n) / 2 keeps that
  // under a quarter of a neighbour, so a small window is not one topic. At least 3: with 2, a link
  // weighs 0.2, 0.5 or 1 (closed neighbourhoods of three), and one swapped neighbour split the demo
  // set's OAuth topic (26 messages) under hybrid neighbourhoods; 3 and 4 kept it under both.
  stats.neighbours = Math.min(def.neighbours, Math.max(3, Math.floor(Math.sqrt(w.withVectors) / 2)));
  const k = stats.neighbours;
  const hybrid = def.neighbourhoods === "hybrid";
  // Hybrid: each leg's 2k nearest, fused as the search fuses its legs (RRF), and the fused first k
  // kept; so a message both legs rank high comes first, as in search (bench/quality.md).
  // Ensemble cuts (definition.ts, neighbourhoodEnsemble) read each neighbourhood k + d deep.
  const spread = def.neighbourhoodEnsemble;
  const depth = hybrid ? 2 * k : k + spread;
  const byVector = await windowNeighbours(w, depth);
  w.lap("semantic");
  let byWords: number[][] = messages.map(() => []);
  let neighboursOf: number[][];
  if (hybrid) {
    byWords = lexicalNeighbours(w.wordsOf(), depth, { eligible: (i) => vectors[i] !== undefined });
    // The search's fusion: message positions stand in for ids, ranks are all it reads.
    const asHits = (list: readonly number[]) => list.map((j) => ({ messageId: j, score: 0 }));
    neighboursOf = byVector.map((list, i) =>
      vectors[i]
        ? reciprocalRankFusion({ semantic: asHits(list), bm25: asHits(byWords[i]!) })
            .slice(0, k + spread)
            .map((h) => h.messageId)
        : [],
    );
  } else {
    neighboursOf = byVector;
  }
  // Links are made between each message and its k nearest; an ensemble weighs them at two more cuts,
  // read from the wide lists packed into one typed array (the fused wide lists are then dropped; the
  // legs' own lists live on for the leg checks below).
  const wide = rankedNeighbours(spread > 0 ? neighboursOf : [], k + spread);
  // The k cut, a copy: more-like-this hits may be appended, and byVector stays the vector leg's.
  neighboursOf = neighboursOf.map((l) => l.slice(0, k));
  if (def.keywordNeighbours > 0) {
    // BM25 more-like-this: each message's messages elsewhere sharing its rare terms join its
    // neighbourhood (after its other neighbours), so shared terms count as shared neighbours.
    await askMoreLikeThis(w, allSeeds(w), def.keywordNeighbours, (seed, j) => {
      const list = neighboursOf[seed]!;
      if (j !== seed && vectors[j] && !list.includes(j)) list.push(j);
      byWords[seed]!.push(j);
    });
  }
  if (hybrid || def.keywordNeighbours > 0) w.lap("keyword");
  const near = rankedNeighbours(neighboursOf);
  neighboursOf = [];
  // The cuts beside k (none without an ensemble).
  const cuts = spread > 0 ? [Math.max(1, k - spread), k + spread] : [];
  // At most one link per listed neighbour: typed arrays sized once (100,000 messages: ~1M links).
  const capacity = near.ids.reduce((sum, j) => (j >= 0 ? sum + 1 : sum), 0);
  const links = {
    a: new Int32Array(capacity),
    b: new Int32Array(capacity),
    weight: new Float64Array(capacity),
    length: 0,
  };
  const legs = new Uint8Array(capacity);
  for (let i = 0; i < n; i++) {
    for (let r = i * near.width, last = r + near.width; r < last && near.ids[r]! >= 0; r++) {
      const j = near.ids[r]!;
      // Each pair once: skipped here when j comes first and lists i too (j's turn pushed it).
      if (j < i && listsNeighbour(near, j, i)) continue;
      if (cosine(i, j) < linkFloor) continue;
      links.a[links.length] = i;
      links.b[links.length] = j;
      const sameConversation = messages[i]!.channel === messages[j]!.channel;
      // Within one conversation a link keeps a share of its weight (definition.ts, sameConversationLinkWeight).
      links.weight[links.length] =
        ensembleWeight(i, j, sharedNeighbourWeight(i, j, near), wide, cuts) *
        (sameConversation ? def.sameConversationLinkWeight : 1);
      // Which leg ranked the pair (either end's list on that leg): read only for pairs between
      // conversations (Topics.pairs), so only those pay for the search.
      if (!sameConversation) {
        const vectorFound = byVector[i]!.includes(j) || byVector[j]!.includes(i);
        const keywordFound = byWords[i]!.includes(j) || byWords[j]!.includes(i);
        legs[links.length] = (vectorFound ? SEMANTIC : 0) | (keywordFound ? LEXICAL : 0);
      }
      links.length++;
    }
  }
  return { links, legs };
}

/**
 * Topics by a cosine threshold (the rule before shared neighbours): per message its nearest in other
 * conversations on each leg, pairs at or above `threshold` (less the lexical allowance where BM25
 * found them), mutual, joined by average linkage of the cosines.
 */
async function thresholdTopics(w: WindowRead, threshold: number): Promise<Topics> {
  const { ports, opts, def, messages, vectors, norms, cosine, index, seedsByChannel, withVectors, stats } = w;
  const n = messages.length;
  const lexicalThreshold = threshold - def.lexicalAllowance;
  const pairs = new Map<number, Pair>();
  const addPair = (i: number, j: number, leg: number, floor: number) => {
    if (i === j || !vectors[j] || messages[i]!.channel === messages[j]!.channel) return;
    const key = i < j ? i * n + j : j * n + i;
    const from = i < j ? FROM_LOW : FROM_HIGH;
    const seen = pairs.get(key);
    if (seen) {
      seen.legs |= leg | from;
      return;
    }
    const sim = cosine(i, j);
    if (sim >= floor) pairs.set(key, { sim, legs: leg | from });
  };
  const inWindow = (hit: LegHit) => index.get(hit.messageId);
  // Per seed, the highest cosine any message of another conversation in the window can have with
  // it, as the semantic leg saw it; the BM25 leg skips seeds under its threshold (every pair it
  // could find would fail the cosine check).
  const ceiling = new Float32Array(n).fill(Number.POSITIVE_INFINITY);
  // Per seed, how many messages elsewhere its own vector query found at or above the threshold.
  const semanticFound = new Uint16Array(n);
  const channels = [...seedsByChannel.keys()];
  const concurrency = opts.concurrency ?? 2;

  // Semantic leg: nearest vectors in other conversations. The unfiltered batch answers a seed when
  // enough of its candidates are elsewhere or the candidates fall below the threshold (nothing
  // nearer can be missing); other seeds go through the semantic leg's filter paths.
  const collectionSize = await ports.vectors.count();
  for (const [channel, seeds] of seedsByChannel) {
    const others = channels.filter((c) => c !== channel);
    const share = collectionSize > 0 ? (withVectors - seeds.length) / collectionSize : undefined;
    // Gaps keep the first pass they were measured with (margin 1.5): a seed left unsettled asks
    // again for 8 times as many, which costs more than the search leg's one widening.
    const k = candidateCount(def.neighbours, share, { ...DEFAULT_FILTERED_SEARCH, margin: 1.5 });
    // Reads one seed's unfiltered candidates (best first, k asked for); true when they do not
    // settle it: fewer than `neighbours` elsewhere in the window, and the last candidate still
    // above the threshold (something nearer elsewhere may lie beyond them).
    const unsettledBy = (seed: number, hits: readonly LegHit[], asked: number): boolean => {
      let kept = 0;
      let found = 0;
      for (const hit of hits) {
        const j = inWindow(hit);
        if (j === undefined || messages[j]!.channel === channel) continue;
        if (kept === 0) ceiling[seed] = hit.score;
        addPair(seed, j, SEMANTIC, threshold);
        if (cosine(seed, j) >= threshold) found++;
        if (++kept >= def.neighbours) break;
      }
      semanticFound[seed] = found;
      const last = hits[hits.length - 1];
      // Nothing elsewhere was among the candidates: anything unseen ranks below the last one.
      if (kept === 0) ceiling[seed] = hits.length >= asked && last ? last.score : Number.NEGATIVE_INFINITY;
      return kept < def.neighbours && hits.length >= asked && last !== undefined && last.score >= threshold;
    };
    if (k !== null) {
      // Still more than 2,000 nearer messages out of reach (near-copies in its own channel or
      // outside the window): a boilerplate message. It keeps what it found and the BM25 leg
      // (which it is not exempt from) rather than one filtered query each: the 100k run that
      // made such queries died on Chroma's 30 s timeout (bench/README.md, gaps).
      stats.unsettledSeeds += (await nearestWidening(w, seeds, k, unsettledBy)).length;
      continue;
    }
    // The other conversations are too small a share for unfiltered candidates to reach them.
    const filters = { channels: others, from: opts.window.since, to: opts.window.until };
    await inPool(seeds, concurrency, async (seed) => {
      const hits = await ports.semantic.query(Array.from(vectors[seed]!), filters, def.neighbours);
      stats.filteredQueries++;
      ceiling[seed] = hits[0]?.score ?? Number.NEGATIVE_INFINITY;
      let found = 0;
      for (const hit of hits) {
        const j = inWindow(hit);
        if (j === undefined) continue;
        addPair(seed, j, SEMANTIC, threshold);
        if (cosine(seed, j) >= threshold) found++;
      }
      semanticFound[seed] = found;
    });
  }
  w.lap("semantic");

  // BM25 leg: messages elsewhere that share this message's rare terms (more-like-this).
  const all = allSeeds(w);
  const seeds = all.filter(
    (i) =>
      ceiling[i]! >= lexicalThreshold && !(def.keywordSkipsConnected && semanticFound[i]! >= def.neighbours),
  );
  stats.keywordSkipped = all.length - seeds.length;
  await askMoreLikeThis(w, seeds, def.neighbours, (seed, j) => addPair(seed, j, LEXICAL, lexicalThreshold));
  w.lap("keyword");

  // A pair counts only when each message found the other (mutual neighbours, by either leg): a hub
  // message near everything otherwise chains unrelated topics together.
  if (def.mutualNeighbours) {
    for (const [key, p] of pairs)
      if ((p.legs & (FROM_LOW | FROM_HIGH)) !== (FROM_LOW | FROM_HIGH)) pairs.delete(key);
  }
  // Topics: pairs strongest first (average linkage). Two groups merge when the mean cosine over all
  // their cross pairs reaches the threshold: with unit vectors that is sumA . sumB / (|A| |B|), so a
  // big group cannot drift into "similar to everything" the way its centre's direction can.
  const order = [...pairs.entries()].sort((a, b) => b[1].sim - a[1].sim || a[0] - b[0]);
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number) => findRoot(parent, i);
  const sizes = new Int32Array(n).fill(1);
  const sums = new Map<number, Float64Array>();
  const sumOf = (root: number) => {
    let s = sums.get(root);
    if (!s) {
      s = Float64Array.from(vectors[root]!, (x) => x / (norms[root] || 1));
      sums.set(root, s);
    }
    return s;
  };
  for (const [key, { sim, legs }] of order) {
    const ri = find(Math.floor(key / n));
    const rj = find(key % n);
    if (ri === rj) continue;
    // A pair BM25 found (alone or with the vector leg) has shared rare terms as independent
    // evidence, so its merge, like the pair itself, needs the threshold less the lexical
    // allowance (definition.ts): a pair both legs found is no weaker than one BM25 alone found.
    const floor = legs & LEXICAL ? lexicalThreshold : threshold;
    const si = sumOf(ri);
    const sj = sumOf(rj);
    if (sim < floor || dot(si, sj) / (sizes[ri]! * sizes[rj]!) < floor) continue;
    for (let d = 0; d < si.length; d++) si[d]! += sj[d]!;
    parent[rj] = ri;
    sizes[ri]! += sizes[rj]!;
    sums.delete(rj);
  }
  const members = new Map<number, Set<number>>();
  for (const key of pairs.keys()) {
    for (const i of [Math.floor(key / n), key % n]) {
      const r = find(i);
      const set = members.get(r) ?? new Set<number>();
      set.add(i);
      members.set(r, set);
    }
  }
  return { members, pairs, topicOf: find };
}

/** Every message with a vector, conversation by conversation. */
function allSeeds(w: WindowRead): number[] {
  return [...w.seedsByChannel.values()].flat();
}

/**
 * BM25 more-like-this for `seeds` (messages outside each one's conversation that share its rare
 * terms, `size` each, `_msearch` batches); `found` gets each answer's messages in the window.
 */
async function askMoreLikeThis(
  w: WindowRead,
  seeds: readonly number[],
  size: number,
  found: (seed: number, j: number) => void,
): Promise<void> {
  let done = 0;
  await inPool(chunks(seeds, w.opts.keywordBatch ?? 50), w.opts.concurrency ?? 2, async (batch) => {
    const queries: MoreLikeThisQuery[] = batch.map((i) => ({
      like: [w.messages[i]!.id],
      excludeChannels: [w.messages[i]!.channel],
      window: w.opts.window,
      size,
    }));
    const answers = await w.ports.keyword.moreLikeThis(queries);
    w.stats.keywordQueries += batch.length;
    batch.forEach((seed, b) => {
      for (const hit of answers[b] ?? []) {
        const j = w.index.get(hit.messageId);
        if (j !== undefined) found(seed, j);
      }
    });
    done += batch.length;
    w.opts.onProgress?.("keyword", done, seeds.length);
  });
}

/**
 * Unfiltered nearest neighbours of `seeds`, `first` candidates each in batches; seeds that
 * `unsettled` keeps open (their candidates were near-copies in their own channel or outside the
 * window, say) ask again for 8 times as many, up to the filter paths' ceiling (2,000), about as many
 * candidates per round trip as a first-pass batch. Returns the seeds still open after the widest ask.
 */
async function nearestWidening(
  w: WindowRead,
  seeds: readonly number[],
  first: number,
  unsettled: (seed: number, hits: readonly LegHit[], asked: number) => boolean,
): Promise<number[]> {
  const vectorBatch = w.opts.vectorBatch ?? 64;
  let open = [...seeds];
  for (let asked = first; ; asked = Math.min(DEFAULT_FILTERED_SEARCH.maxCandidates, asked * 8)) {
    const size = asked;
    const still: number[] = [];
    await inPool(
      chunks(open, Math.max(1, Math.floor((vectorBatch * first) / size))),
      w.opts.concurrency ?? 2,
      async (batch) => {
        const answers = await w.ports.vectors.nearestMany(
          batch.map((i) => w.vectors[i]!),
          size,
        );
        batch.forEach((seed, b) => {
          if (unsettled(seed, answers[b] ?? [], size)) still.push(seed);
        });
        if (size > first) w.stats.widenedQueries += batch.length;
        else {
          w.stats.vectorSeeds += batch.length;
          w.opts.onProgress?.("semantic", w.stats.vectorSeeds, w.withVectors);
        }
      },
    );
    open = still;
    if (open.length === 0 || asked >= DEFAULT_FILTERED_SEARCH.maxCandidates) return open;
  }
}

/**
 * Each message's `k` nearest messages in the window, in any conversation (positions, best first):
 * unfiltered (nearestWidening) while the window is a large enough share of the collection for its
 * candidates to reach it; a seed still short, or every seed when it is not, asks the semantic leg
 * filtered by the window's time.
 */
async function windowNeighbours(w: WindowRead, k: number): Promise<number[][]> {
  const { ports, opts, messages, vectors, index, stats } = w;
  const neighbours: number[][] = messages.map(() => []);
  const seeds = allSeeds(w);
  if (seeds.length === 0) return neighbours;
  const collectionSize = await ports.vectors.count();
  const share = collectionSize > 0 ? seeds.length / collectionSize : undefined;
  // The seed itself is its own first hit: ask for one more.
  const first = candidateCount(k + 1, share, { ...DEFAULT_FILTERED_SEARCH, margin: 1.5 });
  // True when the answer leaves the seed short: under k in the window, and as many candidates as
  // asked (fewer means the whole collection was seen).
  const short = (seed: number, hits: readonly LegHit[], asked: number): boolean => {
    const list: number[] = [];
    for (const hit of hits) {
      const j = index.get(hit.messageId);
      if (j === undefined || j === seed || !vectors[j] || list.includes(j)) continue;
      list.push(j);
      if (list.length >= k) break;
    }
    neighbours[seed] = list;
    return list.length < k && hits.length >= asked;
  };
  // null: the window is too small a share of the collection for unfiltered candidates to reach it.
  const open = first === null ? seeds : await nearestWidening(w, seeds, first, short);
  await inPool(open, opts.concurrency ?? 2, async (seed) => {
    const hits = await ports.semantic.query(
      Array.from(vectors[seed]!),
      { from: opts.window.since, to: opts.window.until },
      k + 1,
    );
    stats.filteredQueries++;
    short(seed, hits, Number.POSITIVE_INFINITY);
  });
  return neighbours;
}

/**
 * The gaps to list, best first (score, then key): those with a side in one of `channels` (all when
 * none is given), at most `limit`.
 */
export function selectGaps(
  gaps: readonly CoordinationGap[],
  channels?: readonly string[],
  limit = Number.POSITIVE_INFINITY,
): CoordinationGap[] {
  const wanted = channels?.length ? new Set(channels) : undefined;
  return gaps
    .filter((g) => !wanted || g.sides.some((s) => s.conversations.some((c) => wanted.has(c))))
    .sort((a, b) => b.score.value - a.score.value || a.key.localeCompare(b.key))
    .slice(0, limit);
}

/** Fills the representatives' permalinks from the source (one lookup for every gap shown). */
async function withPermalinks(
  gaps: CoordinationGap[],
  lookup: (ids: readonly number[]) => Promise<Map<number, string>>,
): Promise<CoordinationGap[]> {
  const ids = gaps.flatMap((g) => g.sides.flatMap((s) => s.representatives.map((m) => m.messageId)));
  if (ids.length === 0) return gaps;
  const links = await lookup(ids);
  return gaps.map((g) => ({
    ...g,
    sides: g.sides.map((s) => ({
      ...s,
      representatives: s.representatives.map((m) => ({
        ...m,
        permalink: m.permalink ?? links.get(m.messageId) ?? null,
      })),
    })),
  }));
}

/** A side's exact (source, conversation) pairs, when its messages carry their source (every read from PostgreSQL does). */
function conversationRefsOf(side: readonly WindowMessage[]): { conversationRefs?: ConversationRef[] } {
  if (side.some((m) => !m.source)) return {};
  const refs = new Map<string, ConversationRef>();
  for (const m of side)
    refs.set(conversationKey(m.source!, m.channel), { source: m.source!, conversation: m.channel });
  return { conversationRefs: [...refs.values()] };
}

function toGapMessage(m: WindowMessage): GapMessage {
  return {
    messageId: m.id,
    channel: m.channel,
    author: m.author,
    content: m.content,
    timestamp: m.timestamp,
    permalink: m.permalink,
    ...(m.source ? { source: m.source } : {}),
  };
}

function profile(
  side: readonly number[],
  messages: readonly WindowMessage[],
  threads: Map<string, number[]>,
): SideProfile {
  const all = new Set(side);
  for (const i of side) {
    const m = messages[i]!;
    if (m.threadId !== null) for (const j of threads.get(`${m.channel}\u0000${m.threadId}`) ?? []) all.add(j);
  }
  return {
    channels: new Set(side.map((i) => messages[i]!.channel)),
    people: new Set(side.map((i) => messages[i]!.author)),
    messages: [...all].map((i) => messages[i]!),
  };
}

/**
 * The quartiles of the cosines between random pairs of messages in different conversations (a
 * seeded sample), or undefined when there are no such pairs.
 */
function backgroundQuartiles(
  messages: readonly WindowMessage[],
  vectors: readonly (Float32Array | undefined)[],
  cosine: (i: number, j: number) => number,
  seed: number,
): { q1: number; q3: number } | undefined {
  const usable = vectors.flatMap((v, i) => (v ? [i] : []));
  if (usable.length < 2) return undefined;
  const rand = seededRandom(seed);
  const sims: number[] = [];
  for (let tries = 0; sims.length < BACKGROUND_SAMPLE && tries < BACKGROUND_SAMPLE * 4; tries++) {
    const i = usable[Math.floor(rand() * usable.length)]!;
    const j = usable[Math.floor(rand() * usable.length)]!;
    if (messages[i]!.channel !== messages[j]!.channel) sims.push(cosine(i, j));
  }
  if (sims.length === 0) return undefined;
  sims.sort((a, b) => a - b);
  const q = (p: number) => sims[Math.min(sims.length - 1, Math.floor(p * sims.length))]!;
  return { q1: q(0.25), q3: q(0.75) };
}

/** A small deterministic generator (mulberry32): the same window gives the same sample. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function cosineOf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = Math.sqrt(dot(a, a) * dot(b, b));
  return d > 0 ? dot(a, b) / d : 0;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over items with at most `n` in flight. */
async function inPool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, n), items.length) }, worker));
}
