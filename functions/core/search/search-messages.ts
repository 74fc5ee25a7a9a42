import { type AppError, RetryableError, toAppError } from "../errors";
import type { LegHit, LegName } from "../model";
import type {
  EnrichedMessage,
  KeywordSearch,
  MessageReader,
  PageRows,
  SemanticLeg,
  ThreadReader,
} from "../ports";
import { type CursorKey, type PagePlan, paginate, pinsWindow, planPage } from "./cursor";
import {
  convexFusion,
  EQUAL_WEIGHTS,
  type FusedHit,
  type FusionMethod,
  type LegWeights,
  reciprocalRankFusion,
} from "./fusion";
import { byRecency, groupByThread, type HitFacts } from "./grouping";
import { pageHighlights } from "./highlight";
import { positiveText } from "./query-parser";
import type { SearchRequest } from "./search-request";

export interface SearchDeps {
  readonly keyword: KeywordSearch;
  /** Resolved only by strategies that run the semantic leg; a failure degrades that leg alone. */
  readonly semantic: () => Promise<SemanticLeg>;
  readonly messages: MessageReader;
  /** Threads and neighbours (group=thread, sort=recent, context=N); without it, those are off. */
  readonly threads?: ThreadReader;
  /** Hits whose rows are gone or soft-deleted: index drift the reconciler repairs. */
  readonly onStaleHits?: (leg: "enrichment", messageIds: number[]) => void;
  readonly onLegFailure?: (leg: LegName, err: AppError) => void;
  /** A snippet embedding that failed: the hit shows its first window. */
  readonly onHighlightFailure?: (what: "embedding", err: unknown) => void;
  readonly now?: () => number;
}

export interface SearchSettings {
  /** RRF constant (the seed's k = 60). */
  readonly rrfK: number;
  /** Leg weights for hybrid (default equal); a request's own weights win (SearchRequest.weights). */
  readonly weights?: LegWeights;
  /** How hybrid fuses (default rrf); a request's own choice wins. */
  readonly fusion?: FusionMethod;
  /** Leg depth override; default max(3 x limit, 50). */
  readonly window?: number;
  /** Signs next_cursor (parseSearchRequest verifies it with the same key). */
  readonly cursorKey: CursorKey;
}

interface SearchHit {
  readonly message: EnrichedMessage;
  readonly score: number;
  readonly ranks: FusedHit["ranks"];
  readonly legScores: FusedHit["legScores"];
  readonly contributions?: FusedHit["contributions"];
  /** HTML-escaped fragments of the content, the query's matches in `<mark>` (highlight.ts). */
  readonly highlights: string[];
  /** group=thread and the hit is in a thread: its parent (null when the hit is it), replies, other matches. */
  readonly thread?: {
    readonly parent: EnrichedMessage | null;
    readonly replyCount: number;
    readonly otherMatchingIds: readonly number[];
  };
  /** context=N: up to N messages before and after the hit in its thread or channel, oldest first. */
  readonly context?: { readonly before: EnrichedMessage[]; readonly after: EnrichedMessage[] };
}

/** A page entry: a hit, and with grouping the other live hits of its thread (list order). */
interface PageItem {
  readonly hit: FusedHit;
  readonly others: number[];
}

/**
 * The ranked list reordered (sort=recent) and grouped (group=thread) from the facts of every
 * ranked hit (one read), and the page cut from it: offsets count positions in that list, so paging
 * has no duplicate and no gap (grouping.ts). Hits whose rows are gone or deleted are reported stale.
 */
async function listGroups(
  reader: ThreadReader,
  ranked: readonly FusedHit[],
  plan: PagePlan,
  req: SearchRequest,
  key: CursorKey,
  mayGoDeeper: boolean,
): Promise<{ items: PageItem[]; nextCursor: string | null; stale: number[]; facts: Map<number, HitFacts> }> {
  const facts = await reader.facts(ranked.map((h) => h.messageId));
  const live = (h: FusedHit) => facts.get(h.messageId)?.live === true;
  const stale = ranked.filter((h) => !live(h)).map((h) => h.messageId);
  const list = req.sort === "recent" ? byRecency(ranked, facts) : ranked;
  if (req.group !== "thread") {
    const page = paginate(list, plan, req, key, live, mayGoDeeper);
    return {
      items: page.items.map((hit) => ({ hit, others: [] })),
      nextCursor: page.nextCursor,
      stale,
      facts,
    };
  }
  const groups = groupByThread(list, facts);
  const page = paginate(groups, plan, req, key, (g) => g.members.some(live), mayGoDeeper);
  const items = page.items.map((g) => {
    const [hit, ...others] = g.members.filter(live);
    return { hit: hit!, others: others.map((o) => o.messageId) };
  });
  return { items, nextCursor: page.nextCursor, stale, facts };
}

export interface SearchResult {
  readonly strategy: SearchRequest["strategy"];
  readonly tookMs: number;
  readonly hits: SearchHit[];
  readonly nextCursor: string | null;
  readonly degraded: LegName[];
  readonly staleHits: number;
}

/** Legs a strategy runs: hybrid runs both in parallel. */
const LEGS: Record<SearchRequest["strategy"], readonly LegName[]> = {
  hybrid: ["bm25", "semantic"],
  bm25: ["bm25"],
  semantic: ["semantic"],
};

/**
 * Runs the strategy's legs in parallel (filters applied inside each leg), fuses with RRF
 * (hybrid) or keeps the leg's own order and score (single leg), drops hits whose rows are gone,
 * and cuts the page. One leg failing degrades a hybrid search; nothing left is a 503.
 */
export async function searchMessages(
  deps: SearchDeps,
  req: SearchRequest,
  settings: SearchSettings,
): Promise<SearchResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const plan = planPage(req, settings.window);
  const legs = LEGS[req.strategy];

  // Kept for snippets of semantic-only hits (highlight.ts).
  let semantic: { leg: SemanticLeg; queryVector: number[] } | undefined;
  const runLeg = async (leg: LegName): Promise<LegHit[]> => {
    if (leg === "bm25") return deps.keyword.search(req.query, req.filters, plan.window);
    const resolved = await deps.semantic();
    const queryVector = await resolved.embedder.embedQuery(positiveText(req.query));
    semantic = { leg: resolved, queryVector };
    return resolved.vector.query(queryVector, req.filters, plan.window);
  };
  const settled = await Promise.allSettled(legs.map(runLeg));

  const results: Partial<Record<LegName, LegHit[]>> = {};
  const degraded: LegName[] = [];
  settled.forEach((outcome, i) => {
    const leg = legs[i]!;
    if (outcome.status === "fulfilled") results[leg] = outcome.value;
    else {
      degraded.push(leg);
      deps.onLegFailure?.(leg, toAppError(outcome.reason));
    }
  });
  if (degraded.length === legs.length) {
    const cause = settled.find((s): s is PromiseRejectedResult => s.status === "rejected")?.reason;
    throw new RetryableError(`search is unavailable: ${degraded.join(" and ")} failed`, cause);
  }

  const ranked =
    req.strategy === "hybrid"
      ? fuse(results, req.fusion ?? settings.fusion ?? "rrf", settings.rrfK, {
          ...EQUAL_WEIGHTS,
          ...settings.weights,
          ...req.weights,
        })
      : singleLeg(results);
  const mayGoDeeper =
    // A single leg cut at its window may hold more hits deeper; the fused list is all there is.
    !pinsWindow(req) && ranked.length >= plan.window;
  // Every row the page shows comes through the reader (names, mentions, visibility).
  const threads = deps.threads;
  const aroundOf = (ids: readonly number[]) =>
    threads && req.context > 0 ? threads.around(ids, req.context) : undefined;
  const listing = threads && (req.group === "thread" || req.sort === "recent") ? threads : undefined;
  let rows: Map<number, EnrichedMessage>;
  let items: PageItem[];
  let nextCursor: string | null;
  let stale: number[];
  let threadInfo: PageRows["threads"] | undefined;
  let facts: Map<number, HitFacts> | undefined;
  let around: Awaited<ReturnType<typeof aroundOf>>;
  if (listing) {
    const list = () => listGroups(listing, ranked, plan, req, settings.cursorKey, mayGoDeeper);
    // The listed page's rows (grouped: with their threads and parents, in one read), and beside
    // them its hits' neighbours (context=N).
    const readPage = (page: readonly PageItem[]) => {
      const ids = page.map((i) => i.hit.messageId);
      return Promise.all([
        req.group === "thread"
          ? deps.messages.liveMessagesWithThreads(ids)
          : deps.messages.liveMessages(ids).then((live): PageRows => ({ rows: live, threads: new Map() })),
        aroundOf(ids),
      ]);
    };
    let listed = await list();
    let [page, near] = await readPage(listed.items);
    // Facts a reader kept can say live of a hit deleted since; the page's read says otherwise. List
    // again with those facts read anew, so the hit's thread shows through its next live member.
    const gone = listed.items.filter((i) => !page.rows.has(i.hit.messageId)).map((i) => i.hit.messageId);
    if (gone.length > 0 && listing.forget) {
      listing.forget(gone);
      listed = await list();
      [page, near] = await readPage(listed.items);
    }
    ({ items, nextCursor, stale, facts } = listed);
    rows = page.rows;
    threadInfo = page.threads;
    around = near;
  } else {
    const enriched = await enrichFrom(deps.messages, ranked, plan.offset, req.limit + 1);
    rows = enriched.rows;
    stale = enriched.examined.filter((h) => !rows.has(h.messageId)).map((h) => h.messageId);
    const looked = new Set(enriched.examined.map((h) => h.messageId));
    const page = paginate(
      ranked,
      plan,
      req,
      settings.cursorKey,
      (h) => (looked.has(h.messageId) ? rows.has(h.messageId) : undefined),
      mayGoDeeper,
    );
    items = page.items.map((hit) => ({ hit, others: [] }));
    nextCursor = page.nextCursor;
    around = await aroundOf(items.map((i) => i.hit.messageId));
  }
  if (stale.length > 0) deps.onStaleHits?.("enrichment", stale);

  // Then every other row the page shows (neighbours) in one more read.
  const wanted = new Set<number>();
  for (const a of around?.values() ?? []) for (const id of [...a.before, ...a.after]) wanted.add(id);
  for (const id of rows.keys()) wanted.delete(id);
  if (wanted.size > 0)
    for (const [id, row] of await deps.messages.liveMessages([...wanted])) rows.set(id, row);

  // Every page item was read (enrichFrom reads past the page); the guard keeps that an invariant.
  const pageHits = items.flatMap((item) => {
    const message = rows.get(item.hit.messageId);
    if (!message) return [];
    const t = threadInfo?.get(item.hit.messageId);
    const inThread = facts?.get(item.hit.messageId)?.inThread ?? message.threadId !== null;
    const thread =
      t && (inThread || t.replyCount > 0)
        ? {
            parent: t.parentId !== null && t.parentId !== message.id ? (rows.get(t.parentId) ?? null) : null,
            replyCount: t.replyCount,
            otherMatchingIds: item.others,
          }
        : undefined;
    const a = around?.get(item.hit.messageId);
    const rowsOf = (ids: number[]) => ids.flatMap((id) => rows.get(id) ?? []);
    const context = a ? { before: rowsOf(a.before), after: rowsOf(a.after) } : undefined;
    return [{ hit: item.hit, message, thread, context }];
  });
  const highlights = await pageHighlights(
    pageHits.map(({ hit, message }) => ({ id: hit.messageId, content: message.content })),
    req.query,
    {
      ...(semantic
        ? {
            embed: (texts: string[]) => semantic!.leg.embedder.embedForSearch(texts),
            queryVector: semantic.queryVector,
          }
        : {}),
      ...(deps.onHighlightFailure ? { onError: deps.onHighlightFailure } : {}),
    },
  );

  return {
    strategy: req.strategy,
    tookMs: now() - started,
    hits: pageHits.map(({ hit: h, message, thread, context }) => ({
      message,
      ...(thread ? { thread } : {}),
      ...(context ? { context } : {}),
      score: h.score,
      ranks: h.ranks,
      legScores: h.legScores,
      contributions: h.contributions,
      highlights: highlights.get(h.messageId) ?? [],
    })),
    nextCursor,
    // Only a hybrid search can be degraded: a failed single leg is a 503 above.
    degraded: req.strategy === "hybrid" ? degraded : [],
    staleHits: stale.length,
  };
}

/**
 * Reads rows for the ranked hits from `offset` only as deep as the page needs: `needed` live hits
 * (the page and one more, to tell whether another page exists), in as few reads as stale hits
 * allow. A leg window is 60+ deep and a fused list up to twice that; a page is 20.
 */
async function enrichFrom(
  reader: MessageReader,
  ranked: readonly FusedHit[],
  offset: number,
  needed: number,
): Promise<{ rows: Map<number, EnrichedMessage>; examined: FusedHit[] }> {
  const rows = new Map<number, EnrichedMessage>();
  let end = offset;
  let live = 0;
  while (end < ranked.length && live < needed) {
    const batch = ranked.slice(end, end + (needed - live));
    const got = await reader.liveMessages(batch.map((h) => h.messageId));
    for (const h of batch) {
      const row = got.get(h.messageId);
      if (row) {
        rows.set(h.messageId, row);
        live++;
      }
    }
    end += batch.length;
  }
  return { rows, examined: ranked.slice(offset, end) };
}

function fuse(
  legs: Partial<Record<LegName, LegHit[]>>,
  method: FusionMethod,
  rrfK: number,
  weights: LegWeights,
): FusedHit[] {
  return method === "convex" ? convexFusion(legs, weights) : reciprocalRankFusion(legs, rrfK, weights);
}

/** A single leg keeps its own order and score (BM25 score, or cosine similarity). */
function singleLeg(results: Partial<Record<LegName, LegHit[]>>): FusedHit[] {
  const [leg, hits] = Object.entries(results)[0] as [LegName, LegHit[]];
  const seen = new Set<number>();
  const out: FusedHit[] = [];
  hits.forEach((h, i) => {
    if (seen.has(h.messageId)) return;
    seen.add(h.messageId);
    out.push({
      messageId: h.messageId,
      score: h.score,
      ranks: { bm25: leg === "bm25" ? i + 1 : null, semantic: leg === "semantic" ? i + 1 : null },
      legScores: { bm25: leg === "bm25" ? h.score : null, semantic: leg === "semantic" ? h.score : null },
    });
  });
  return out;
}
