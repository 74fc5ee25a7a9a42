/**
 * What a coordination gap is, written down. Within a time window: messages in at least
 * `minConversations` conversations (channels) that are about one topic, found with the engine's own
 * retrieval (`topics`: messages sharing their nearest neighbours in the vector index, optionally
 * BM25 more-like-this on shared rare terms; or, the rule before, pairs above a cosine threshold),
 * where the people of the sides overlap at most `maxParticipantOverlap` and no side references
 * another (a mention of the other channel or of one of its people, or a link both sides share).
 */
export interface GapDefinition {
  /** Window length when the caller gives no `since` (the schedule, `trisearch gaps`). */
  readonly windowDays: number;
  /** Conversations a topic must span (sides not talking to each other). */
  readonly minConversations: number;
  /** Messages on the topic a conversation needs to count as a side: one stray remark is not a discussion. */
  readonly minMessagesPerSide: number;
  /**
   * Most shared people, as a share of the smaller side's people, for two sides to count as "not
   * talking": 0.25 lets one shared person in a side of four or more through, never one of three or fewer.
   */
  readonly maxParticipantOverlap: number;
  /**
   * How messages are grouped into topics.
   * - "shared-neighbours" (the default since 2026-12-05, shared-neighbours.ts): two messages are
   *   linked when one is among the other's `neighbours` nearest messages in the window (any
   *   conversation) and their cosine is above the background's Q3 (more alike than three random
   *   pairs of messages in different conversations out of four); a link weighs the Jaccard overlap
   *   of the two neighbourhoods (times `sameConversationLinkWeight` inside one conversation);
   *   topics are average-linkage groups whose mean link weight stays at least
   *   `minSharedNeighbours`, and a gap's must reach `minCohesion`. Relative to each message's own neighbourhood, so it holds under
   *   a model that compresses cosines (bge-small), where an absolute threshold cuts a narrow
   *   topic's pairs or joins whole subjects (bench/quality.md, coordination gaps).
   * - "threshold" (the rule before): pairs of mutual nearest messages in different conversations
   *   above a cosine threshold (the floor below, raised to the background fence), less the lexical
   *   allowance where BM25 found them, joined by average linkage at that threshold.
   */
  readonly topics: "shared-neighbours" | "threshold";
  /**
   * Shared-neighbour topics: the least mean neighbourhood overlap (Jaccard of the closed
   * neighbourhoods, 0..1) over a topic's member pairs, an unlinked pair counting 0. With 10
   * neighbours, two messages that list each other, or one listing the other with one more shared,
   * weigh 2 / 20 = 0.1, so 0.08 keeps groups whose pairs are nearly all linked; by chance two
   * messages of a 1,400-message window share 0.07 of a neighbour. The middle of 0.06-0.10, over
   * which the planted benchmark moved by about one topic per seed (bench/quality.md); 0.06 since
   * 2026-12-06 19:20 with sidesLinkedAcross (a larger group no longer dilutes a small topic's gap,
   * its sides are trimmed to what is linked across). The same at
   * any k: in a small window (k = 3) a lone mutual pair weighs 0.33, so groups there may be less
   * densely linked; scaling the floor by 10 / k lost the demo set's gap.
   */
  readonly minSharedNeighbours: number;
  /**
   * Shared-neighbour topics: where a message's nearest messages come from.
   * - "hybrid" (the default since 2026-12-05): the engine's two legs, as search fuses them: the
   *   vector index's 2k nearest and the 2k that share the most rare words (TF-IDF cosine over the
   *   window, lexical-neighbours.ts), fused by reciprocal rank (k = 60), the first k kept. Meaning
   *   finds paraphrases, shared rare terms find the narrow topic a compact model blurs into its
   *   subject; on the planted benchmark judged precision rose from 0.61 to 0.68 and recall from
   *   0.64 to 0.71, pooled over seven loads (bench/quality.md, "Hybrid neighbourhoods").
   * - "vector": the vector index's k nearest only (the rule before).
   */
  readonly neighbourhoods: "hybrid" | "vector";
  /**
   * Shared-neighbour topics: the share of its weight a link keeps between two messages of one
   * conversation (links between conversations keep all of it). A gap is one topic across
   * conversations: a link across them is what a gap is made of, while a link inside one is as much
   * evidence of the conversation's own subject as of a topic. On eleven planted loads, pooled judged
   * precision / recall: 0.710 / 0.724 with neither rule, 0.714 / 0.737 with this one at 0.7, 0.738 /
   * 0.721 with minCohesion alone, 0.775 / 0.718 with both (bench/quality.md, "Cohesive gaps").
   */
  readonly sameConversationLinkWeight: number;
  /**
   * Shared-neighbour topics: the least cohesion of a reported gap, the mean over its messages of
   * their link weights to its other messages, per neighbour slot (each message's sum over
   * min(neighbours, messages - 1)): how much of a full neighbourhood each message shares with the
   * gap. Average linkage keeps groups whose mean link to each other passes `minSharedNeighbours`,
   * which a subject's loose group of messages does too; such a group across two conversations is
   * a subject both discuss, not one piece of work, and a narrow topic's few messages straying into
   * it made most of the planted benchmark's false gaps. Planted gaps measured 0.215-0.53 (median
   * 0.31), false ones 0.15-0.46 (median 0.23) on three loads (bench/quality.md, "Cohesive gaps");
   * 0 reports every group. 0 by default since 2026-12-06 19:20: with sidesLinkedAcross the gaps it
   * rejected at 0-0.14 were the ones minCrossCohesion rejects (bench/quality.md, "Side trimming").
   */
  readonly minCohesion: number;
  /**
   * Shared-neighbour topics: the least cohesion across a reported gap's sides, computed as
   * `minCohesion` is but over the links between messages on different sides only: how much of a full
   * neighbourhood each message shares with the other side(s). A gap's evidence is what ties its sides
   * together; a tight topic inside one conversation lifts a gap's overall cohesion while adding nothing
   * across, which is how a one-conversation topic rode into a loose cross-conversation group (the
   * planted benchmark's one-channel control on three seeds). 0.08 was fixed on ten loads and then met
   * its pre-registered bar on twenty held-out ones: judged precision 0.856 against 0.830 at the same
   * recall (0.685), the held-out control gone (bench/quality.md, "Cross-side cohesion"); 0.10 with
   * sidesLinkedAcross since 2026-12-06 19:20 (trimmed gaps are tighter across). 0 reports every group.
   */
  readonly minCrossCohesion: number;
  /**
   * Shared-neighbour topics: a link weighs the mean of its Jaccard overlaps with each message's
   * neighbourhood cut at its k - d, k and k + d nearest (d this; k - d at least 1), instead of at k
   * alone; 0 is the k cut only. One cut makes a link's weight hinge on which messages happen to rank
   * tenth or eleventh; the mean reads the same neighbourhoods at three depths. With minMemberShare
   * 0.3 it raised judged precision at about the same recall on 33 planted loads it was not chosen on
   * (0.803 / 0.677 against 0.771 / 0.671; bench/quality.md, "The ensemble and member-share rules
   * become the default"). In a small window (k = 3) the k - d cut is clipped to 1; not tuned.
   */
  readonly neighbourhoodEnsemble: number;
  /**
   * Shared-neighbour topics: a message stays in its topic's gap only when at least this share of its
   * link weight lies inside the topic; 0 keeps every member. A planted topic's stray inside a
   * subject group keeps most of its links with its own topic elsewhere, and makes the group a false
   * gap. 0.3 by default since 2026-12-06 (see neighbourhoodEnsemble), 0.33 with sidesLinkedAcross
   * since 19:20; 0.35-0.5 trade recall for precision on the same frontier.
   */
  readonly minMemberShare: number;
  /**
   * Shared-neighbour topics: a side keeps only its members linked to a member of another side; the
   * others leave before the side-size and cohesion rules. A side is the part of its conversation that
   * takes part in the shared topic: a member tied only to its own conversation is that conversation's
   * own talk, which the grouping carried along. Without it a large conversation's subject around a
   * small topic's cross-conversation core dilutes the gap's cohesion under the bar (the small topic is
   * lost), or passes as a side of it. The default since 2026-12-06 19:20, with minSharedNeighbours
   * 0.06, minCohesion 0 (redundant once sides are trimmed), minCrossCohesion 0.10 and minMemberShare
   * 0.33, chosen on 28 planted loads and adopted by a pre-registered test on 18 fresh ones: judged
   * precision 0.904 at recall 0.789 against 0.907 at 0.756 for the rule before (bench/quality.md,
   * "Side trimming").
   */
  readonly sidesLinkedAcross: boolean;
  /**
   * Shared-neighbour topics: messages elsewhere that BM25 more-like-this finds for a message (its
   * rare terms) join its neighbourhood after its vector neighbours; 0 skips the BM25 leg.
   */
  readonly keywordNeighbours: number;
  /**
   * Cosine floor for two messages to be about the same topic (a shared-neighbour link needs the
   * larger of it and the window's background Q3). For all-MiniLM-L6-v2, paraphrases
   * score 0.6-0.9 and messages on one narrow subject 0.45-0.7, while unrelated chat stays under 0.3,
   * so the floor decides there. bge-small-en-v1.5 (the default model) puts unrelated pairs at
   * 0.50-0.65: the background fence below, not this floor, sets its threshold (0.76-0.78 on the demo set).
   */
  readonly minSimilarity: number;
  /**
   * Threshold topics: the floor is raised per window to Tukey's outlier fence of the cosines of random message pairs
   * from different conversations, Q3 + k x IQR: in a window where everything is about one field
   * (every message about aerodynamics, say) "similar" must mean an outlier against the window's
   * background. Quartiles barely move when the window's real topics are in the sample (a
   * quantile near the top would be made of them in a small window). 1.5 is Tukey's inner fence.
   */
  readonly backgroundFence: number;
  /**
   * Threshold topics: how far below the similarity threshold a pair may be when BM25 more-like-this found it (alone or
   * with the vector leg), and the topic's mean cosine when that pair merges two groups: shared rare
   * terms are independent evidence of a shared topic, so they need less meaning-evidence.
   */
  readonly lexicalAllowance: number;
  /**
   * Threshold topics: a pair counts only when each message is among the other's nearest messages in
   * other conversations (on either leg): a message near everything (a hub) then stops chaining topics.
   */
  readonly mutualNeighbours: boolean;
  /**
   * Nearest messages asked for per message: in the window, any conversation (shared-neighbour
   * topics; fewer in a window under 400 messages); in other conversations, on each leg (threshold).
   */
  readonly neighbours: number;
  /**
   * Threshold topics: the BM25 leg skips a message whose own vector query already found `neighbours` messages
   * elsewhere at or above the threshold: meaning alone has tied it to a topic, and anything more
   * the BM25 leg could add ranks below ten stronger neighbours. It is one more_like_this query per
   * message otherwise, the computation's largest cost (bench/README.md, gaps: at 100k templated
   * messages nearly every message is such).
   */
  readonly keywordSkipsConnected: boolean;
  /** Representative messages shown per side. */
  readonly representatives: number;
  /** Distinctive terms in a gap's label. */
  readonly labelTerms: number;
  /** What counts as one side referencing another. */
  readonly crossReference: {
    readonly channelMention: boolean;
    readonly participantMention: boolean;
    readonly sharedLink: boolean;
  };
}

export const DEFAULT_GAP_DEFINITION: GapDefinition = {
  windowDays: 7,
  minConversations: 2,
  minMessagesPerSide: 2,
  maxParticipantOverlap: 0.25,
  topics: "shared-neighbours",
  minSharedNeighbours: 0.06,
  neighbourhoods: "hybrid",
  sameConversationLinkWeight: 0.7,
  minCohesion: 0,
  minCrossCohesion: 0.1,
  neighbourhoodEnsemble: 4,
  minMemberShare: 0.33,
  sidesLinkedAcross: true,
  keywordNeighbours: 0,
  minSimilarity: 0.5,
  backgroundFence: 1.5,
  lexicalAllowance: 0.05,
  mutualNeighbours: true,
  neighbours: 10,
  keywordSkipsConnected: true,
  representatives: 3,
  labelTerms: 4,
  crossReference: { channelMention: true, participantMention: true, sharedLink: true },
};

/** Shared people over the smaller side's people (0 when either side has nobody). */
export function participantOverlap(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  const smaller = Math.min(a.size, b.size);
  if (smaller === 0) return 0;
  let shared = 0;
  for (const p of a) if (b.has(p)) shared++;
  return shared / smaller;
}

/**
 * A gap's score and its parts, so a reader sees why it ranks where it does:
 * similarity x (1 - participant overlap) x size factor, where the size factor m / (m + 4) is half
 * at 4 messages and approaches 1 for large discussions.
 */
export interface GapScore {
  readonly value: number;
  /** Mean cosine of the retrieved pairs that join the sides. */
  readonly similarity: number;
  /** Largest overlap between two sides that do not talk (participantOverlap). */
  readonly participantOverlap: number;
  readonly messages: number;
  readonly sizeFactor: number;
}

export function gapScore(similarity: number, overlap: number, messages: number): GapScore {
  const sizeFactor = messages / (messages + 4);
  return {
    value: round(similarity * (1 - overlap) * sizeFactor),
    similarity: round(similarity),
    participantOverlap: round(overlap),
    messages,
    sizeFactor: round(sizeFactor),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
