/**
 * Thread grouping and recency order over a ranked list (search-messages.ts), pure.
 *
 * Groups are built over every ranked hit whose row exists (deleted rows included: a tombstone
 * keeps its thread), in order of each group's first member, so a group's position in the list
 * never moves when one of its messages is deleted between two pages: paging over groups counts
 * group positions like ungrouped paging counts hit positions (cursor.ts), with no duplicate and no
 * gap. A group is shown while it has a live member; its first live member is its hit.
 */

/** What grouping and sorting need to know of a ranked hit's row (ThreadReader.facts). */
export interface HitFacts {
  /** The conversation the message belongs to: its thread, or the message itself when it starts none. */
  readonly threadKey: string;
  /** The message carries a thread id (a reply, or a Slack parent of replies). */
  readonly inThread: boolean;
  readonly timestamp: Date;
  readonly live: boolean;
}

export interface HitGroup<T> {
  readonly key: string;
  /** In list order; dead members included (see above). */
  readonly members: readonly T[];
}

/** One group per thread key, in order of first appearance; hits without facts stand alone. */
export function groupByThread<T extends { readonly messageId: number }>(
  ranked: readonly T[],
  facts: ReadonlyMap<number, HitFacts>,
): HitGroup<T>[] {
  const groups = new Map<string, T[]>();
  for (const hit of ranked) {
    const key = facts.get(hit.messageId)?.threadKey ?? `message:${hit.messageId}`;
    const members = groups.get(key);
    if (members) members.push(hit);
    else groups.set(key, [hit]);
  }
  return [...groups].map(([key, members]) => ({ key, members }));
}

/** Newest first (ties: the ranked order), for sort=recent; hits without facts go last. */
export function byRecency<T extends { readonly messageId: number }>(
  ranked: readonly T[],
  facts: ReadonlyMap<number, HitFacts>,
): T[] {
  const time = (h: T) => facts.get(h.messageId)?.timestamp.getTime() ?? Number.NEGATIVE_INFINITY;
  return ranked
    .map((hit, i) => ({ hit, i }))
    .sort((a, b) => time(b.hit) - time(a.hit) || a.i - b.i)
    .map((x) => x.hit);
}
