import type { GapDigestSetting } from "../core/gaps/compute-gaps";
import { DEFAULT_GAP_DEFINITION, type GapDefinition } from "../core/gaps/definition";
import type { CoordinationGap } from "../core/gaps/gap";
import type { GapDetectionPorts } from "../core/gaps/ports";
import { filteredVectorSearch } from "../core/search/filtered-vector-search";
import { slackPermalink } from "../core/slack/slack-permalink";
import type { Config } from "./config";
import type { Container } from "./container";

/** The gap definition with the configured numbers (GAPS_* settings). */
export function gapDefinition(cfg: Config): GapDefinition {
  return {
    ...DEFAULT_GAP_DEFINITION,
    windowDays: cfg.GAPS_WINDOW_DAYS,
    minConversations: cfg.GAPS_MIN_CONVERSATIONS,
    minMessagesPerSide: cfg.GAPS_MIN_MESSAGES_PER_SIDE,
    maxParticipantOverlap: cfg.GAPS_MAX_PARTICIPANT_OVERLAP,
    minSimilarity: cfg.GAPS_MIN_SIMILARITY,
    backgroundFence: cfg.GAPS_BACKGROUND_FENCE,
    topics: cfg.GAPS_TOPICS,
    neighbours: cfg.GAPS_NEIGHBOURS,
    neighbourhoods: cfg.GAPS_NEIGHBOURHOODS,
    minSharedNeighbours: cfg.GAPS_MIN_SHARED_NEIGHBOURS,
    sameConversationLinkWeight: cfg.GAPS_SAME_CONVERSATION_LINK_WEIGHT,
    minCohesion: cfg.GAPS_MIN_COHESION,
    minCrossCohesion: cfg.GAPS_MIN_CROSS_COHESION,
    neighbourhoodEnsemble: cfg.GAPS_NEIGHBOURHOOD_ENSEMBLE,
    minMemberShare: cfg.GAPS_MIN_MEMBER_SHARE,
    sidesLinkedAcross: cfg.GAPS_SIDES_LINKED_ACROSS,
  };
}

/** The scheduled digest (GAPS_DIGEST_CHANNEL): readers from PostgreSQL, the post through the replies queue. */
export function gapDigest(c: Container): GapDigestSetting | undefined {
  const channel = c.config.GAPS_DIGEST_CHANNEL;
  if (!channel) return undefined;
  return { channel, limit: c.config.GAPS_DIGEST_LIMIT, readers: c.access, queue: c.repliesQueue };
}

/**
 * Gap detection's ports: the window from PostgreSQL, vectors from the collection search reads,
 * the semantic leg's filter paths, and OpenSearch's more-like-this.
 */
export async function gapDetectionPorts(c: Container): Promise<GapDetectionPorts> {
  const { index } = await c.collections.activeIndex();
  return {
    messages: c.gapWindow,
    vectors: index,
    semantic: filteredVectorSearch(index, c.messageFilter),
    keyword: c.keywordIndex(),
    permalinks: async (ids) => {
      const live = await c.store.liveMessages(ids);
      const links = new Map<number, string>();
      for (const [id, m] of live) {
        const link = slackPermalink(m, c.config.SLACK_WORKSPACE_DOMAIN);
        if (link) links.set(id, link);
      }
      return links;
    },
  };
}

/** A gap as the API and `trisearch gaps --json` show it. */
export function gapJson(g: CoordinationGap) {
  return {
    key: g.key,
    label: g.label,
    terms: [...g.terms],
    first_at: g.firstAt.toISOString(),
    last_at: g.lastAt.toISOString(),
    score: {
      value: g.score.value,
      similarity: g.score.similarity,
      participant_overlap: g.score.participantOverlap,
      messages: g.score.messages,
      size_factor: g.score.sizeFactor,
      formula:
        "similarity x (1 - participant_overlap) x size_factor, size_factor = messages / (messages + 4)",
    },
    sides: g.sides.map((s) => ({
      conversations: [...s.conversations],
      people: [...s.people],
      message_count: s.messageCount,
      representatives: s.representatives.map((m) => ({
        message_id: m.messageId,
        channel: m.channel,
        author: m.author,
        content: m.content,
        timestamp: m.timestamp.toISOString(),
        permalink: m.permalink,
      })),
    })),
  };
}
