import { type SideProfile, sidesReference } from "../gaps/cross-reference";
import { DEFAULT_GAP_DEFINITION } from "../gaps/definition";
import { seededRandom } from "../gaps/detect-gaps";
import type { CoordinationGap } from "../gaps/gap";
import { type CorpusDoc, docContent, type IngestItem } from "./beir";
import type { Qrels } from "./metrics";

/**
 * A planted coordination-gap benchmark from a judged collection (BEIR layout). A judged query's
 * relevant documents are one topic. The generator, seeded:
 * - channels are about their subjects, as team channels are: a collection that has conversations
 *   (corpus metadata `channel`, as LoCoMo's) keeps them with their own people; otherwise the
 *   documents are grouped into `channels` subjects by k-means over TF-IDF vectors (words only,
 *   independent of the embedding model the detector uses), each channel with its own people;
 * - planted gaps: a topic's documents split at random into two channels, each half written by that
 *   channel's people (no one belongs to two channels);
 * - control "one channel": a topic whose documents all sit in one channel (one conversation);
 * - control "shared people": a topic split across two channels but written on both sides by the
 *   same two people (they are talking);
 * - background: every other document stays in its subject's channel, by one of its people; with
 *   `backgroundAuthors` > 0, by one of that many people who post in every channel instead (a
 *   background whose subjects span channels without being coordination gaps: see bench/quality.md).
 * Planted and control topics have disjoint documents. Timestamps are random inside one window.
 *
 * Which topics (`topics`, default "cohesive" since 2026-12-05; "all" is the generator before, same
 * messages for the same seed): a coordination gap is the same work discussed twice, but a judged
 * query's relevant set is often several subjects that only the query ties together, which no
 * reader of the two channels would call the same work. So only cohesive topics are planted or made
 * controls, judged without the detector's model: link two documents when one is among the other's
 * `cohesionNeighbours` (10) nearest by TF-IDF cosine in the whole collection; a topic is cohesive
 * when these links connect all its documents (cohesiveTopic). The controls must not be gaps by the
 * definition either, and one is when other channels' people discuss its subject: each control is
 * the remaining cohesive topic with the fewest subject-mates outside its subject's (home) channel
 * (subjectControl); the one-channel control sits in that channel, the shared-people control has one
 * half there and the other in another channel. Planted topics holding a control's document or
 * subject-mate are skipped. Both controls are chosen before the planted gaps, so that they exist.
 */
export interface PlantedGapSettings {
  readonly seed: number;
  readonly channels: number;
  readonly authorsPerChannel: number;
  readonly plantedGaps: number;
  /** A topic needs this many documents per side (so at least twice as many in all). */
  readonly minDocsPerSide: number;
  /** Topics with more documents than this are not planted (one discussion, not half the collection). */
  readonly maxTopicDocs: number;
  /** 0: each channel's own people write its background; N: N people who post in every channel do. */
  readonly backgroundAuthors: number;
  readonly windowStart: string;
  readonly windowDays: number;
  /**
   * Which judged topics may be planted or be a control: "cohesive" (the default since 2026-12-05),
   * only topics that are one subject in TF-IDF space (cohesiveTopic); "all", any topic of the right
   * size (the generator before: same messages for the same seed).
   */
  readonly topics: "cohesive" | "all";
  /** N of the cohesion rule: a document's N nearest TF-IDF neighbours in the whole collection. */
  readonly cohesionNeighbours: number;
  /**
   * Where a planted gap's halves go (cohesive topics only; `topics: "all"` keeps the old random
   * pair): "home" (the default since 2026-12-05, 18:40), one half in the topic's subject channel
   * (where most of its documents' subject lives) and the other in another channel, as the issue's
   * own example has it (#auth-team plans the OAuth rollout, #mobile debugs the same login flow);
   * "random", both halves in two channels drawn at random, usually neither the subject's.
   */
  readonly placement: "home" | "random";
  /**
   * Cohesive topics only: a planted topic is not a subject-mate of another planted topic (no
   * document of one among the `cohesionNeighbours` nearest of the other's), the rule the controls
   * already had. Two judged queries about one subject are one topic to a reader of the two channels,
   * and a gap holding both finds neither (most of its judged documents must be one topic's).
   * Default false: on Cranfield it leaves 13-16 plantable topics of the 30 asked, and five loads with
   * it scored as without it (bench/quality.md, shared-neighbour topics), at half the sample.
   */
  readonly distinctTopics: boolean;
}

export const DEFAULT_PLANTED_SETTINGS: PlantedGapSettings = {
  seed: 18,
  channels: 8,
  authorsPerChannel: 4,
  plantedGaps: 10,
  minDocsPerSide: 2,
  maxTopicDocs: 16,
  backgroundAuthors: 0,
  windowStart: "2026-01-05T00:00:00.000Z",
  windowDays: 7,
  topics: "cohesive",
  cohesionNeighbours: 10,
  placement: "home",
  distinctTopics: false,
};

interface PlantedTopic {
  readonly queryId: string;
  readonly kind: "gap" | "one_channel" | "shared_people";
  readonly channels: readonly string[];
  readonly docIds: readonly string[];
}

export interface PlantedBenchmark {
  readonly settings: PlantedGapSettings;
  readonly messages: readonly IngestItem[];
  readonly topics: readonly PlantedTopic[];
  readonly window: { readonly since: Date; readonly until: Date };
  /**
   * How many judged topics have a plantable size, how many of those are cohesive, and (cohesive
   * topics only) the share of each control's subject-mates that sit outside its subject's channel.
   */
  readonly selection: {
    readonly sizedTopics: number;
    readonly cohesiveTopics: number;
    /** Per control chosen by subjectControl (one channel, then shared people). */
    readonly controlsOutsideShare: readonly number[];
  };
}

function channelName(i: number): string {
  return `#team-${i + 1}`;
}

interface HomeChannels {
  readonly channels: readonly string[];
  /** Each channel's people. */
  readonly people: readonly (readonly string[])[];
  readonly channelOf: ReadonlyMap<string, number>;
  /** The document's own author, when the collection has one. */
  readonly authorOf: ReadonlyMap<string, string>;
}

/** Subject channels: the collection's own conversations, or k-means over TF-IDF. */
function homeChannels(
  docs: readonly CorpusDoc[],
  vectors: readonly Map<string, number>[],
  settings: PlantedGapSettings,
  rand: () => number,
): HomeChannels {
  if (docs.length > 0 && docs.every((d) => d.channel && d.author)) {
    const channels = [...new Set(docs.map((d) => d.channel!))].sort();
    const index = new Map(channels.map((c, i) => [c, i]));
    const people = channels.map((c) =>
      [...new Set(docs.filter((d) => d.channel === c).map((d) => d.author!))].sort(),
    );
    return {
      channels,
      people,
      channelOf: new Map(docs.map((d) => [d.id, index.get(d.channel!)!])),
      authorOf: new Map(docs.map((d) => [d.id, d.author!])),
    };
  }
  const channels = Array.from({ length: settings.channels }, (_, i) => channelName(i));
  const people = channels.map((_, c) =>
    Array.from({ length: settings.authorsPerChannel }, (_, k) => `team${c + 1}-person${k + 1}@example.com`),
  );
  const clusters = tfidfKMeans(vectors, channels.length, rand);
  const everywhere = Array.from({ length: settings.backgroundAuthors }, (_, k) => `core${k + 1}@example.com`);
  return {
    channels,
    people,
    channelOf: new Map(docs.map((d, i) => [d.id, clusters[i]!])),
    authorOf: new Map(
      everywhere.length > 0
        ? docs.map((d) => [d.id, everywhere[Math.floor(rand() * everywhere.length)]!])
        : [],
    ),
  };
}

/**
 * TF-IDF word vectors (unit length): log-scaled term frequency times log inverse document frequency,
 * over words of three or more characters. Words of one document or of more than half of them are
 * left out: they tell no subjects apart. Model-independent (the detector embeds with ONNX).
 */
function tfidfVectors(texts: readonly string[]): Map<string, number>[] {
  const tokens = texts.map((t) => t.toLowerCase().match(/[a-z][a-z0-9-]{2,}/g) ?? []);
  const df = new Map<string, number>();
  for (const ts of tokens) for (const w of new Set(ts)) df.set(w, (df.get(w) ?? 0) + 1);
  const n = texts.length;
  return tokens.map((ts) => {
    const tf = new Map<string, number>();
    for (const w of ts) tf.set(w, (tf.get(w) ?? 0) + 1);
    const v = new Map<string, number>();
    for (const [w, f] of tf) {
      const d = df.get(w)!;
      if (d < 2 || d > n / 2) continue;
      v.set(w, (1 + Math.log(f)) * Math.log(n / d));
    }
    const norm = Math.sqrt([...v.values()].reduce((a, x) => a + x * x, 0)) || 1;
    for (const [w, x] of v) v.set(w, x / norm);
    return v;
  });
}

/** Spherical k-means (cosine) over TF-IDF word vectors, k-means++ seeding; returns each vector's cluster. */
function tfidfKMeans(
  vectors: readonly Map<string, number>[],
  k: number,
  rand: () => number,
  iterations = 20,
): number[] {
  const n = vectors.length;
  const sim = (v: Map<string, number>, c: Map<string, number>) => {
    let s = 0;
    for (const [w, x] of v) s += x * (c.get(w) ?? 0);
    return s;
  };
  const centres: Map<string, number>[] = [new Map(vectors[Math.floor(rand() * n)])];
  while (centres.length < Math.min(k, n)) {
    const dist = vectors.map((v) => 1 - Math.max(...centres.map((c) => sim(v, c))));
    const total = dist.reduce((a, x) => a + x, 0);
    let r = rand() * total;
    let i = 0;
    for (; i < n - 1; i++) {
      r -= dist[i]!;
      if (r <= 0) break;
    }
    centres.push(new Map(vectors[i]));
  }
  let assign = vectors.map(() => 0);
  for (let it = 0; it < iterations; it++) {
    const next = vectors.map((v) => {
      let best = 0;
      let bestSim = -1;
      centres.forEach((c, j) => {
        const s = sim(v, c);
        if (s > bestSim) {
          bestSim = s;
          best = j;
        }
      });
      return best;
    });
    const changed = next.some((a, i) => a !== assign[i]);
    assign = next;
    centres.forEach((_, j) => {
      const c = new Map<string, number>();
      vectors.forEach((v, i) => {
        if (assign[i] !== j) return;
        for (const [w, x] of v) c.set(w, (c.get(w) ?? 0) + x);
      });
      const norm = Math.sqrt([...c.values()].reduce((a, x) => a + x * x, 0)) || 1;
      for (const [w, x] of c) c.set(w, x / norm);
      if (c.size > 0) centres[j] = c;
    });
    if (!changed && it > 0) break;
  }
  return assign;
}

export function buildPlantedBenchmark(
  corpus: readonly CorpusDoc[],
  qrels: Qrels,
  settings: PlantedGapSettings = DEFAULT_PLANTED_SETTINGS,
): PlantedBenchmark {
  const rand = seededRandom(settings.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const docs = new Map(corpus.filter((d) => docContent(d) !== "").map((d) => [d.id, d]));
  const docList = [...docs.values()];
  const vectors = tfidfVectors(docList.map((d) => docContent(d)));
  const home = homeChannels(docList, vectors, settings, rand);
  const channels = home.channels;
  const pools = home.people;
  const start = Date.parse(settings.windowStart);
  const span = settings.windowDays * 86_400_000;
  const topicsOf = new Map<string, string[]>();
  for (const [queryId, judgments] of [...qrels].sort(([a], [b]) =>
    a.localeCompare(b, "en", { numeric: true }),
  )) {
    topicsOf.set(
      queryId,
      [...judgments]
        .filter(([doc, grade]) => grade > 0 && docs.has(doc))
        .map(([doc]) => doc)
        .sort(),
    );
  }
  const shuffled = shuffle([...topicsOf.keys()], rand);
  const assigned = new Map<string, { channel: string; author: string }>();
  const topics: PlantedTopic[] = [];

  const sized = (ids: readonly string[]) =>
    ids.length >= 2 * settings.minDocsPerSide && ids.length <= settings.maxTopicDocs;
  // The cohesion rule over every topic of a plantable size (deterministic: no random draws, so
  // `topics: "all"` builds the same benchmark as before the rule existed).
  const indexOf = new Map(docList.map((d, i) => [d.id, i]));
  const sizedTopics = [...topicsOf].filter(([, ids]) => sized(ids));
  const nearest = tfidfNearest(
    vectors,
    [...new Set(sizedTopics.flatMap(([, ids]) => ids.map((d) => indexOf.get(d)!)))],
    settings.cohesionNeighbours,
  );
  const cohesive = new Set(
    sizedTopics
      .filter(([, ids]) =>
        cohesiveTopic(
          ids.map((d) => indexOf.get(d)!),
          nearest,
        ),
      )
      .map(([q]) => q),
  );
  const eligible = (queryId: string, ids: readonly string[]) =>
    sized(ids) && (settings.topics === "all" || cohesive.has(queryId)) && ids.every((d) => !assigned.has(d));
  const byCohesion = settings.topics === "cohesive";
  const membersOf = (queryId: string) => topicsOf.get(queryId)!.map((d) => indexOf.get(d)!);
  /** A document's (by position) home channel: its subject's. */
  const homeChannelOf = (d: number) => home.channelOf.get(docList[d]!.id)!;
  /** The shared-people control: halves in channels a and b, both written by the same two people. */
  const writeShared = (queryId: string, split: readonly string[], a: number, b: number) => {
    const half = Math.ceil(split.length / 2);
    const shared = [`liaison-${topics.length}-1@example.com`, `liaison-${topics.length}-2@example.com`];
    split.forEach((d, k) => {
      // Both people write on each side (alternating), so its sides always share them.
      assigned.set(d, {
        channel: channels[k < half ? a : b]!,
        author: shared[(k < half ? k : k - half) % 2]!,
      });
    });
    topics.push({ queryId, kind: "shared_people", channels: [channels[a]!, channels[b]!], docIds: split });
  };
  // With cohesive topics both controls are chosen first, so that they exist whenever cohesive
  // topics do, and planted halves can be kept off their subjects (subjectControl says how).
  const controls: SubjectControl[] = [];
  // The controls' subjects: no planted topic may be a subject-mate, or its half would carry a
  // control's subject into another channel.
  const controlSubjects = new Subjects(nearest);
  for (const kind of byCohesion ? (["one_channel", "shared_people"] as const) : []) {
    const control = subjectControl(
      shuffled
        .filter((q) => eligible(q, topicsOf.get(q)!) && !controlSubjects.near(membersOf(q)))
        .map((q) => [q, membersOf(q)] as const),
      nearest,
      homeChannelOf,
    );
    if (!control) break;
    controls.push(control);
    controlSubjects.add(control.members);
    const a = control.channel;
    const split = shuffle(topicsOf.get(control.queryId)!.slice(), rand);
    if (kind === "one_channel") {
      // Its own speakers where the collection has them (LoCoMo), else its channel's people (not
      // the people who post everywhere of `backgroundAuthors`: the control is its channel's talk).
      for (const d of split)
        assigned.set(d, { channel: channels[a]!, author: docs.get(d)!.author ?? pick(pools[a]!) });
      topics.push({ queryId: control.queryId, kind, channels: [channels[a]!], docIds: split });
      continue;
    }
    // The shared-people control: one half in its subject's channel, the other in another channel,
    // both written by the same two people, so that its only possible gap is between its own halves.
    const b = (a + 1 + Math.floor(rand() * (channels.length - 1))) % channels.length;
    writeShared(control.queryId, split, a, b);
  }
  // The planted topics' subjects (distinctTopics), as for the controls.
  const plantedSubjects = new Subjects(nearest);
  const gapsWanted = Array.from({ length: settings.plantedGaps }, () => "gap" as const);
  const wanted: PlantedTopic["kind"][] = byCohesion
    ? gapsWanted
    : [...gapsWanted, "one_channel", "shared_people"];
  let next = 0;
  for (const queryId of shuffled) {
    const kind = wanted[next];
    if (!kind) break;
    const ids = topicsOf.get(queryId)!;
    if (!eligible(queryId, ids)) continue;
    if (byCohesion && controlSubjects.near(membersOf(queryId))) continue;
    if (byCohesion && settings.distinctTopics && plantedSubjects.near(membersOf(queryId))) continue;
    // One half in the topic's subject channel (the home channel holding most of its documents).
    const atHome =
      byCohesion && settings.placement === "home" ? homeOf(membersOf(queryId), homeChannelOf) : undefined;
    const pair = (): [number, number] =>
      atHome === undefined
        ? twoChannels(channels.length, rand)
        : [atHome, (atHome + 1 + Math.floor(rand() * (channels.length - 1))) % channels.length];
    let [a, b] = pair();
    const split = shuffle([...ids], rand);
    const half = Math.ceil(split.length / 2);
    if (kind === "gap") {
      // A planted gap must be one by the definition: its halves written by people only one of the
      // two channels has, and no half naming another channel or its people (a collection's own
      // turns keep the names of the conversation they came from: "Hey Joanna!"). Other channel
      // pairs are drawn until one is; a topic no pair suits is not planted.
      const texts = [split.slice(0, half), split.slice(half)].map((h) =>
        h.map((d) => docContent(docs.get(d)!)),
      );
      let ok = isGapPlacement(texts, [a, b], channels, pools);
      for (let tries = 1; !ok && tries < 20; tries++) {
        [a, b] = pair();
        ok = isGapPlacement(texts, [a, b], channels, pools);
      }
      if (!ok) continue;
    }
    next++;
    if (kind === "one_channel") {
      for (const d of split) assigned.set(d, { channel: channels[a]!, author: pick(pools[a]!) });
      topics.push({ queryId, kind, channels: [channels[a]!], docIds: split });
      continue;
    }
    if (kind === "shared_people") {
      writeShared(queryId, split, a, b);
      continue;
    }
    split.forEach((d, k) => {
      const c = k < half ? a : b;
      assigned.set(d, { channel: channels[c]!, author: pick(ownPeople(pools, c, c === a ? b : a)) });
    });
    topics.push({ queryId, kind, channels: [channels[a]!, channels[b]!], docIds: split });
    plantedSubjects.add(membersOf(queryId));
  }
  // Background: every other document in its subject's channel.
  for (const id of [...docs.keys()].sort()) {
    if (assigned.has(id)) continue;
    const c = home.channelOf.get(id)!;
    assigned.set(id, { channel: channels[c]!, author: home.authorOf.get(id) ?? pick(pools[c]!) });
  }
  const messages: IngestItem[] = [...docs.values()].map((doc) => {
    const where = assigned.get(doc.id)!;
    return {
      external_id: doc.id,
      channel: where.channel,
      author: where.author,
      content: docContent(doc),
      timestamp: new Date(start + Math.floor(rand() * span)).toISOString(),
    };
  });
  // Planted gaps first, then the controls, whatever order they were chosen in.
  const order: readonly PlantedTopic["kind"][] = ["gap", "one_channel", "shared_people"];
  return {
    settings,
    messages,
    topics: [...topics].sort((x, y) => order.indexOf(x.kind) - order.indexOf(y.kind)),
    window: { since: new Date(start), until: new Date(start + span) },
    selection: {
      sizedTopics: sizedTopics.length,
      cohesiveTopics: cohesive.size,
      controlsOutsideShare: controls.map((c) => Number(c.outsideShare.toFixed(3))),
    },
  };
}

/**
 * Each listed document's n nearest others by TF-IDF cosine in the whole collection (ties by
 * position; documents sharing no word are never neighbours).
 */
function tfidfNearest(
  vectors: readonly Map<string, number>[],
  of: readonly number[],
  n: number,
): Map<number, number[]> {
  const postings = new Map<string, { doc: number; weight: number }[]>();
  vectors.forEach((v, doc) => {
    for (const [w, weight] of v) {
      const list = postings.get(w) ?? [];
      list.push({ doc, weight });
      postings.set(w, list);
    }
  });
  const scores = new Float64Array(vectors.length);
  const result = new Map<number, number[]>();
  for (const i of of) {
    scores.fill(0);
    for (const [w, x] of vectors[i]!) for (const p of postings.get(w)!) scores[p.doc]! += x * p.weight;
    scores[i] = 0;
    const ranked: number[] = [];
    scores.forEach((s, j) => {
      if (s > 0) ranked.push(j);
    });
    ranked.sort((a, b) => scores[b]! - scores[a]! || a - b);
    result.set(i, ranked.slice(0, n));
  }
  return result;
}

/**
 * The cohesion rule: a topic is cohesive when its documents, linked where one is among the
 * other's N nearest TF-IDF neighbours in the whole collection, form one connected whole. A
 * coordination gap is the same work discussed twice; a judged query's relevant set is often
 * several subjects that only the query ties together, which no reader of two channels would call
 * the same work, and which no similarity can join. Connected, not merely "each has a mate": two
 * separate pairs are two subjects.
 */
function cohesiveTopic(members: readonly number[], nearest: ReadonlyMap<number, readonly number[]>): boolean {
  if (members.length < 2) return false;
  const inTopic = new Set(members);
  const linked = (i: number, j: number) =>
    (nearest.get(i) ?? []).includes(j) || (nearest.get(j) ?? []).includes(i);
  const reached = new Set([members[0]!]);
  const queue = [members[0]!];
  while (queue.length > 0) {
    const i = queue.pop()!;
    for (const j of inTopic)
      if (!reached.has(j) && linked(i, j)) {
        reached.add(j);
        queue.push(j);
      }
  }
  return reached.size === inTopic.size;
}

/**
 * Topics taken so far (their documents, by position) and their subject-mates: a topic is near them
 * when it holds one of their documents or subject-mates, or one of its documents has one of theirs
 * among its cohesion neighbours.
 */
class Subjects {
  private readonly members = new Set<number>();
  private readonly subject = new Set<number>();

  constructor(private readonly nearest: ReadonlyMap<number, readonly number[]>) {}

  add(members: readonly number[]): void {
    for (const d of members) {
      this.members.add(d);
      this.subject.add(d);
      for (const j of this.nearest.get(d) ?? []) this.subject.add(j);
    }
  }

  near(members: readonly number[]): boolean {
    return members.some(
      (d) => this.subject.has(d) || (this.nearest.get(d) ?? []).some((j) => this.members.has(j)),
    );
  }
}

interface SubjectControl {
  readonly queryId: string;
  /** Its documents (positions in the collection). */
  readonly members: readonly number[];
  readonly channel: number;
  /** The share of its documents' nearest TF-IDF neighbours outside the topic that sit in other channels. */
  readonly outsideShare: number;
}

/**
 * A control when topics are cohesive: a control must not be a gap by the definition, and it is one
 * when people of another channel discuss its subject. So it goes in its subject's channel (the home
 * channel of most of its documents: its k-means subject, or the conversation its turns came from;
 * the shared-people control puts one half there), and it is the candidate whose subject lies most
 * inside that channel: the fewest of its documents' N nearest TF-IDF neighbours outside the topic
 * sit in another channel (a share; ties to the first in the seeded order). A topic with no such
 * neighbour elsewhere has share 0; the report keeps the share reached, since a collection may have
 * no such topic.
 */
function subjectControl(
  candidates: readonly (readonly [string, readonly number[]])[],
  nearest: ReadonlyMap<number, readonly number[]>,
  homeChannel: (doc: number) => number,
): SubjectControl | undefined {
  let best: SubjectControl | undefined;
  for (const [queryId, members] of candidates) {
    const channel = homeOf(members, homeChannel);
    const mates = members.flatMap((d) => (nearest.get(d) ?? []).filter((j) => !members.includes(j)));
    const outsideShare = mates.filter((j) => homeChannel(j) !== channel).length / Math.max(1, mates.length);
    if (!best || outsideShare < best.outsideShare) best = { queryId, members, channel, outsideShare };
  }
  return best;
}

/** The home (subject) channel holding most of these documents; ties to the lowest channel. */
function homeOf(members: readonly number[], homeChannel: (doc: number) => number): number {
  const counts = new Map<number, number>();
  for (const d of members) {
    const c = homeChannel(d);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0];
}

/**
 * Whether two halves placed in channels a and b are a gap by the definition's people and
 * cross-reference rules (cross-reference.ts): each channel has people the other lacks, and neither
 * half names another channel or one of its people who is not also in its own channel. Any other
 * channel, not only the other half's: a half naming the people of a third conversation (the one its
 * turns came from) talks with that conversation's side when the topic reaches it, and the detector
 * joins sides that talk to a common side into one.
 */
function isGapPlacement(
  texts: readonly (readonly string[])[],
  [a, b]: readonly [number, number],
  channels: readonly string[],
  pools: readonly (readonly string[])[],
): boolean {
  if (ownPeople(pools, a, b).length === 0 || ownPeople(pools, b, a).length === 0) return false;
  const side = (c: number, half: readonly string[]): SideProfile => ({
    channels: new Set([channels[c]!]),
    people: new Set(pools[c]!),
    messages: half.map((content, i) => ({
      id: i,
      channel: channels[c]!,
      author: pools[c]![0] ?? "",
      content,
      timestamp: new Date(0),
      threadId: null,
      permalink: null,
    })),
  });
  return ([a, b] as const).every((c, h) =>
    channels.every(
      (_, o) =>
        o === c ||
        sidesReference(side(c, texts[h]!), side(o, []), DEFAULT_GAP_DEFINITION.crossReference) === null,
    ),
  );
}

/** Channel c's people who are not also channel o's (a planted half's possible authors). */
function ownPeople(pools: readonly (readonly string[])[], c: number, o: number): string[] {
  return pools[c]!.filter((p) => !pools[o]!.includes(p));
}

function twoChannels(n: number, rand: () => number): [number, number] {
  const a = Math.floor(rand() * n);
  let b = Math.floor(rand() * (n - 1));
  if (b >= a) b++;
  return [a, b];
}

/** Fisher-Yates, in place, with the given generator (seededRandom for reproducible orders). */
export function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * How one reported gap is judged under the judged-documents scoring (scorePlanted says why):
 * - "planted": its judged documents are mostly one planted topic's, held on both of the topic's
 *   channels (at least minDocsPerSide in each) on different sides of the gap;
 * - "control": it reports a control (scorePlanted says by which rule); the run fails;
 * - "false": it holds judged documents and is neither;
 * - "unjudged": it holds no planted or control document at all.
 */
type JudgedVerdict = "planted" | "control" | "false" | "unjudged";

interface ReportedGapVerdict {
  readonly label: string;
  readonly channels: readonly string[];
  /** The gap's sides (conversations that talk among themselves are one side). */
  readonly sides: readonly (readonly string[])[];
  readonly messages: number;
  /** The planted topic most of its messages come from, with that share. */
  readonly topic: string | null;
  readonly topicKind: PlantedTopic["kind"] | "background";
  readonly share: number;
  /** Strict (the old rule): more than half of all its messages are a planted topic's, on both its channels. */
  readonly correct: boolean;
  /** Messages of planted or control topics in it (the judged ones). */
  readonly judgedMessages: number;
  /** The share of its judged messages that `topic` (the most frequent) has. */
  readonly judgedShare: number;
  readonly judged: JudgedVerdict;
  /** Why a "false" gap is false (JudgedScore.falseKinds); null otherwise. */
  readonly falseKind: FalseKind | null;
}

/**
 * Kinds of false gaps (a diagnostic, not a scoring rule):
 * - "mixedTopics": no topic holds more than half of its judged documents;
 * - "oneSide": one topic holds most of them, all on one side of the gap: a planted half or stray
 *   planted documents joined with background elsewhere (by the definition a gap when that
 *   background is on its subject, which no judgment says);
 * - "thinSide": one topic holds most of them, on several sides, but fewer than minDocsPerSide on one
 *   of its channels (or its two channels on one side).
 */
type FalseKind = "oneSide" | "mixedTopics" | "thinSide";

/** Precision and recall when reported gaps made only of unjudged documents are left out (condensed). */
interface JudgedScore {
  /** Reported gaps holding at least one planted or control document. */
  readonly judgedGaps: number;
  readonly correct: number;
  readonly falseGaps: number;
  /** Reported gaps made only of background documents: counted, not in precision. */
  readonly unjudged: number;
  /** correct / judgedGaps (1 when nothing judged was reported). */
  readonly precision: number;
  /** Planted topics some reported gap is "planted" for / planted topics. */
  readonly recall: number;
  readonly found: readonly string[];
  /** Controls some reported gap is "control" for: any fails the run, as under the strict rule. */
  readonly controlsReported: readonly string[];
  /** The false gaps by kind (FalseKind). */
  readonly falseKinds: Readonly<Record<FalseKind, number>>;
}

export interface PlantedScore {
  readonly planted: number;
  readonly found: number;
  readonly reported: number;
  readonly correct: number;
  readonly precision: number;
  readonly recall: number;
  /**
   * Secondary, not the target: planted gaps whose documents the reported gap holding most of them
   * has on both sides (at least minDocsPerSide in each of the topic's two channels), even where the
   * topic is not the majority of that gap (a larger subject of the background around it).
   */
  readonly recallContained: number;
  readonly falseGaps: readonly ReportedGapVerdict[];
  /** Controls a reported gap was mostly made of (should be empty). */
  readonly controlsReported: readonly string[];
  /** The judged-documents scoring (condensed, as IR evaluation treats unjudged documents). */
  readonly judged: JudgedScore;
  readonly verdicts: readonly ReportedGapVerdict[];
  /** Where each planted topic and control went: the reported gap holding most of its documents. */
  readonly topics: readonly TopicTrace[];
}

interface TopicTrace {
  readonly queryId: string;
  readonly kind: PlantedTopic["kind"];
  readonly docs: number;
  /** The reported gap holding most of the topic's documents (its index in the report), or null. */
  readonly gap: number | null;
  /** The topic's documents in that gap per channel, and that gap's size. */
  readonly inGap: Readonly<Record<string, number>>;
  readonly gapMessages: number;
}

/**
 * Two scorings of the reported gaps, both kept in the report.
 *
 * Strict (the first one): a reported gap finds a planted one when most (> half) of all its messages
 * are that topic's and it has a side in each of the topic's two channels; anything else reported is
 * a false gap, background included.
 *
 * Judged (condensed, as IR evaluation scores a ranking with incomplete judgments: unjudged documents
 * are removed before scoring, not counted as non-relevant): only planted and control documents are
 * judged, because only their placement is the generator's. The background keeps the collection's
 * subjects in channels by disjoint people, so it holds real gaps by the definition that no judgment
 * covers. A reported gap with no judged document is "unjudged": counted and listed, left out of
 * precision. Otherwise the gap's judged documents decide: it finds planted topic T when more than
 * half of them are T's, it holds at least minDocsPerSide of T's documents in each of T's two
 * channels, and those channels are on different sides of the gap (a topic inside a larger gap of its
 * subject is found; a giant gap holding many topics is not, since none is its judged majority). A
 * gap reports a control by what the control tests: the one-channel topic when it is most of the
 * gap's judged documents, the shared-people topic when its two channels are on different sides of
 * the gap (majority or not); either also under the strict rule (most of all messages). A reported
 * control makes the gap false and fails the run. Anything else judged is false, including a gap
 * whose only judged documents are a few strays inside background (counted false, not unjudged).
 */
export function scorePlanted(
  bench: PlantedBenchmark,
  gaps: readonly CoordinationGap[],
  externalIdOf: (messageId: number) => string | undefined,
): PlantedScore {
  const topicOfDoc = new Map<string, PlantedTopic>();
  for (const t of bench.topics) for (const d of t.docIds) topicOfDoc.set(d, t);
  const channelOf = new Map(bench.messages.map((m) => [m.external_id, m.channel]));
  const perSide = bench.settings.minDocsPerSide;
  const found = new Set<string>();
  const judgedFound = new Set<string>();
  const judgedControls = new Set<string>();
  const verdicts: ReportedGapVerdict[] = gaps.map((g) => {
    const counts = new Map<PlantedTopic, number>();
    // Per topic, its documents in this gap per channel.
    const perChannel = new Map<PlantedTopic, Map<string, number>>();
    for (const id of g.messageIds) {
      const doc = externalIdOf(id) ?? "";
      const t = topicOfDoc.get(doc);
      if (!t) continue;
      counts.set(t, (counts.get(t) ?? 0) + 1);
      const byChannel = perChannel.get(t) ?? new Map<string, number>();
      const ch = channelOf.get(doc) ?? "?";
      byChannel.set(ch, (byChannel.get(ch) ?? 0) + 1);
      perChannel.set(t, byChannel);
    }
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].queryId.localeCompare(b[0].queryId));
    const [topic, count] = ranked[0] ?? [undefined, 0];
    const share = count / Math.max(1, g.messageIds.length);
    const channels = g.sides.flatMap((s) => s.conversations);
    const correct = topic?.kind === "gap" && share > 0.5 && topic.channels.every((c) => channels.includes(c));
    if (correct) found.add(topic.queryId);
    const judgedMessages = [...counts.values()].reduce((a, x) => a + x, 0);
    const judgedShare = judgedMessages > 0 ? count / judgedMessages : 0;
    const sideOf = (c: string) => g.sides.findIndex((s) => s.conversations.includes(c));
    // The topic's documents on each of its channels (at least minDocsPerSide), on different sides.
    const acrossSides = (t: PlantedTopic) =>
      t.channels.length >= 2 &&
      t.channels.every((c) => (perChannel.get(t)?.get(c) ?? 0) >= perSide && sideOf(c) >= 0) &&
      new Set(t.channels.map(sideOf)).size === t.channels.length;
    // A control is reported by what it tests: the one-channel topic when it is most of the gap's
    // judged documents (the gap says it spans conversations); the shared-people topic when its two
    // channels are on different sides (the gap says its people do not talk), majority or not. Either
    // also when it is most of all the gap's messages (the strict rule).
    // Every control the gap reports (both can, in one gap), so none goes unrecorded.
    const controls = [...counts.keys()].filter(
      (t) =>
        t.kind !== "gap" &&
        ((counts.get(t)! / Math.max(1, judgedMessages) > 0.5 && t.kind === "one_channel") ||
          counts.get(t)! / Math.max(1, g.messageIds.length) > 0.5 ||
          (t.kind === "shared_people" && acrossSides(t))),
    );
    const control = controls[0];
    let judged: JudgedVerdict;
    if (!topic) judged = "unjudged";
    else if (control) judged = "control";
    else if (topic.kind === "gap" && judgedShare > 0.5 && acrossSides(topic)) judged = "planted";
    else judged = "false";
    let falseKind: FalseKind | null = null;
    if (judged === "false") {
      // The sides holding the majority topic's documents.
      const topicSides = new Set<number>();
      for (const [c, k] of perChannel.get(topic!) ?? []) if (k > 0) topicSides.add(sideOf(c));
      falseKind = judgedShare <= 0.5 ? "mixedTopics" : topicSides.size <= 1 ? "oneSide" : "thinSide";
    }
    if (judged === "planted") judgedFound.add(topic!.queryId);
    for (const c of controls) judgedControls.add(c.queryId);
    return {
      label: g.label,
      channels,
      sides: g.sides.map((x) => x.conversations),
      messages: g.messageIds.length,
      topic: topic?.queryId ?? null,
      topicKind: topic && share > 0.5 ? topic.kind : "background",
      share: Math.round(share * 100) / 100,
      correct,
      judgedMessages,
      judgedShare: Math.round(judgedShare * 100) / 100,
      judged,
      falseKind,
    };
  });
  const traces: TopicTrace[] = bench.topics.map((t) => {
    const docs = new Set(t.docIds);
    let best: { gap: number; inGap: Record<string, number>; count: number } | undefined;
    for (const [k, g] of gaps.entries()) {
      const inGap: Record<string, number> = {};
      let count = 0;
      for (const id of g.messageIds) {
        const doc = externalIdOf(id) ?? "";
        if (!docs.has(doc)) continue;
        const ch = channelOf.get(doc) ?? "?";
        inGap[ch] = (inGap[ch] ?? 0) + 1;
        count++;
      }
      if (count > 0 && (!best || count > best.count)) best = { gap: k, inGap, count };
    }
    return {
      queryId: t.queryId,
      kind: t.kind,
      docs: t.docIds.length,
      gap: best?.gap ?? null,
      inGap: best?.inGap ?? {},
      gapMessages: best ? gaps[best.gap]!.messageIds.length : 0,
    };
  });
  const planted = bench.topics.filter((t) => t.kind === "gap").length;
  const correct = verdicts.filter((v) => v.correct).length;
  return {
    planted,
    found: found.size,
    reported: gaps.length,
    correct,
    precision: gaps.length === 0 ? 1 : correct / gaps.length,
    recall: planted === 0 ? 1 : found.size / planted,
    recallContained:
      planted === 0
        ? 1
        : traces.filter(
            (t) =>
              t.kind === "gap" &&
              bench.topics
                .find((x) => x.queryId === t.queryId)!
                .channels.every((c) => (t.inGap[c] ?? 0) >= bench.settings.minDocsPerSide),
          ).length / planted,
    falseGaps: verdicts.filter((v) => !v.correct),
    controlsReported: [
      ...new Set(
        verdicts
          .filter((v) => v.topicKind === "one_channel" || v.topicKind === "shared_people")
          .map((v) => v.topic!),
      ),
    ],
    judged: judgedScore(verdicts, judgedFound, judgedControls, planted),
    verdicts,
    topics: traces,
  };
}

function judgedScore(
  verdicts: readonly ReportedGapVerdict[],
  found: ReadonlySet<string>,
  controls: ReadonlySet<string>,
  planted: number,
): JudgedScore {
  const count = (v: JudgedVerdict) => verdicts.filter((x) => x.judged === v).length;
  const correct = count("planted");
  const unjudged = count("unjudged");
  const kind = (k: FalseKind) => verdicts.filter((x) => x.falseKind === k).length;
  const judgedGaps = verdicts.length - unjudged;
  return {
    judgedGaps,
    correct,
    falseGaps: judgedGaps - correct,
    unjudged,
    precision: judgedGaps === 0 ? 1 : correct / judgedGaps,
    recall: planted === 0 ? 1 : found.size / planted,
    found: [...found].sort(),
    controlsReported: [...controls].sort(),
    falseKinds: { oneSide: kind("oneSide"), mixedTopics: kind("mixedTopics"), thinSide: kind("thinSide") },
  };
}

/** The controls a run reported under either scoring (any fails the run). */
export function reportedControls(s: PlantedScore): string[] {
  return [...new Set([...s.controlsReported, ...s.judged.controlsReported])];
}

/** Several loads' scores pooled: counts summed over the loads, then divided (micro-averaged). */
export interface PooledScore {
  readonly loads: number;
  readonly planted: number;
  readonly strict: { readonly correct: number; readonly reported: number; readonly found: number };
  readonly judged: {
    readonly correct: number;
    readonly judgedGaps: number;
    readonly unjudged: number;
    readonly found: number;
    /** correct / judgedGaps over all loads (1 when nothing judged was reported). */
    readonly precision: number;
    /** Planted topics found / planted topics, over all loads. */
    readonly recall: number;
    /**
     * 95 % intervals of the two by resampling the loads (percentile bootstrap, 2,000 rounds,
     * seeded): how far another set of loads like these could move them.
     */
    readonly intervals: {
      readonly precision: readonly [number, number];
      readonly recall: readonly [number, number];
    };
  };
  /** Loads on which some control was reported (strict or judged): each fails its run. */
  readonly loadsReportingControls: number;
}

/**
 * Pools loads of the planted benchmark (bench/quality.md): one load's 25-30 planted topics move by
 * about one gap per topic changed, so the targets are read on the sums over several seeds.
 */
export function poolScores(scores: readonly PlantedScore[]): PooledScore {
  const sum = (f: (s: PlantedScore) => number) => scores.reduce((total, s) => total + f(s), 0);
  const planted = sum((s) => s.planted);
  const judgedGaps = sum((s) => s.judged.judgedGaps);
  const correct = sum((s) => s.judged.correct);
  const found = sum((s) => s.judged.found.length);
  return {
    loads: scores.length,
    planted,
    strict: { correct: sum((s) => s.correct), reported: sum((s) => s.reported), found: sum((s) => s.found) },
    judged: {
      correct,
      judgedGaps,
      unjudged: sum((s) => s.judged.unjudged),
      found,
      precision: judgedGaps === 0 ? 1 : correct / judgedGaps,
      recall: planted === 0 ? 0 : found / planted,
      intervals: {
        precision: loadInterval(
          scores.map((s) => [s.judged.correct, s.judged.judgedGaps]),
          1,
        ),
        recall: loadInterval(
          scores.map((s) => [s.judged.found.length, s.planted]),
          0,
        ),
      },
    },
    loadsReportingControls: scores.filter((s) => reportedControls(s).length > 0).length,
  };
}

/**
 * The 2.5th and 97.5th percentiles of sum(part) / sum(whole) over 2,000 resamples of the loads
 * (with replacement; seeded, so a report is reproducible); `empty` when a resample has no whole.
 * Loads are the unit: one load's gaps share its background and clustering, so resampling gaps
 * would understate the spread between loads (the same seed moved by 0.05-0.09 between loads).
 */
export function loadInterval(
  loads: readonly (readonly [part: number, whole: number])[],
  empty: number,
  rounds = 2000,
): [number, number] {
  if (loads.length === 0) return [empty, empty];
  const rand = seededRandom(1);
  const ratios = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    let part = 0;
    let whole = 0;
    for (let i = 0; i < loads.length; i++) {
      const [p, w] = loads[Math.floor(rand() * loads.length)]!;
      part += p;
      whole += w;
    }
    ratios[r] = whole === 0 ? empty : part / whole;
  }
  ratios.sort();
  return [ratios[Math.floor(0.025 * (rounds - 1))]!, ratios[Math.ceil(0.975 * (rounds - 1))]!];
}
