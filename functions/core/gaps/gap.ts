import type { ConversationRef } from "../access/access";
import type { SourceRef } from "../model";
import type { GapScore } from "./definition";

/** A message shown for a side of a gap. */
export interface GapMessage {
  readonly messageId: number;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: Date;
  readonly permalink: string | null;
  readonly source?: SourceRef;
}

/** The people and messages of one side: conversations that talk among themselves (usually one channel). */
export interface GapSide {
  readonly conversations: readonly string[];
  /**
   * Each conversation of the side with its source, exactly (`conversations` names ids only, and two
   * sources may use one id): what a viewer must be allowed to read to see the side. Absent in runs
   * stored before it existed.
   */
  readonly conversationRefs?: readonly ConversationRef[];
  readonly people: readonly string[];
  readonly messageCount: number;
  /** The side's messages nearest the topic's centre, best first. */
  readonly representatives: readonly GapMessage[];
}

/** One topic discussed in separate conversations by people who are not talking to each other. */
export interface CoordinationGap {
  /** Stable for the same messages: the smallest message id and the conversations. */
  readonly key: string;
  /** The topic's distinctive terms, shared by the sides. */
  readonly label: string;
  readonly terms: readonly string[];
  readonly sides: readonly GapSide[];
  readonly firstAt: Date;
  readonly lastAt: Date;
  readonly score: GapScore;
  /** Every message of the topic, by side order (the eval matches gaps with these). */
  readonly messageIds: readonly number[];
}
