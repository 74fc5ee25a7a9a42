import type { CoordinationGap } from "../gaps/gap";
import type { ConversationScope } from "./access";

/**
 * The gaps a scope may see: those whose every side is a conversation in scope. A gap relates its
 * sides, so showing one whose other side the viewer may not read would tell them what is discussed
 * there. Checked per (source, conversation) where the gap carries its sources (two sources may use
 * one channel id); by id for a gap stored before it did. Null scope (unscoped): all of them.
 */
export function visibleGaps(
  gaps: readonly CoordinationGap[],
  scope: ConversationScope | null,
): CoordinationGap[] {
  if (!scope) return [...gaps];
  return gaps.filter((g) =>
    g.sides.every(
      (side) =>
        (side.conversationRefs
          ? side.conversationRefs.every((r) => scope.allows(r.source, r.conversation))
          : side.conversations.every((c) => scope.includesChannel(c))) &&
        side.representatives.every((m) =>
          m.source ? scope.allows(m.source, m.channel) : scope.includesChannel(m.channel),
        ),
    ),
  );
}
