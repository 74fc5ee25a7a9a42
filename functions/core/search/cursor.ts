import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { ReadAccess } from "../access/access";
import { ForbiddenError, ValidationError } from "../errors";
import type { SearchFilters, SearchStrategy } from "../model";
import type { LegWeights } from "./fusion";

/**
 * Paging over fused results with an opaque cursor: base64url JSON `{v, o, w, h}`, a dot, and an
 * HMAC-SHA256 over that JSON with the deployment's cursor secret (truncated to 128 bits). Only
 * this deployment can issue a cursor, so a client cannot choose its own offset or window; the
 * bounds below are checked as well, so even a leaked secret cannot ask a leg for 10^7 hits.
 *
 * - `o` offset of the next page: a position in the ranked (fused) list, dropped hits included.
 * - `w` the leg window pinned by the first page. RRF scores depend on how deep each leg was
 *   fetched, so the window must not change while paging a hybrid query, or items could move
 *   across a page boundary (a duplicate or a gap). With the window pinned, every page fuses the
 *   same two lists and slices the same ranked list: no duplicates, no gaps. Hybrid paging ends
 *   when that fused list (at most 2 x window items) is exhausted.
 *   A single-leg strategy has no fusion, and a leg's ranking is stable when fetched deeper
 *   (OpenSearch sorts by score then message_id), so its window grows with the offset instead.
 * - `h` a short hash of the normalised request (q, strategy, filters, limit): a cursor replayed
 *   with another query is a 400, not a silently wrong page.
 * - `u` a short hash of whom the search ran for (a viewer, or `*` unscoped): a cursor replayed by
 *   another viewer is a 403 (its offsets describe a ranking of another viewer's conversations).
 */

/**
 * 3: signed (2 was unsigned); 2: offsets count ranked positions (1 counted live hits, which stale
 * hits could shift).
 */
export const CURSOR_VERSION = 3;

/** Default leg window is max(3 x limit, DEFAULT_MIN_WINDOW) unless configured. */
const DEFAULT_MIN_WINDOW = 50;

/** Paging stops here: bounds the depth each leg is asked for (OpenSearch allows from+size <= 10,000). */
export const MAX_PAGING_DEPTH = 1000;

/** The largest page a request may ask for. */
export const MAX_LIMIT = 100;

/**
 * The deepest window a cursor may carry: legWindow's max(configured <= 1000 or 3 x limit,
 * offset + limit + 1) with offset <= MAX_PAGING_DEPTH.
 */
export const MAX_CURSOR_WINDOW = MAX_PAGING_DEPTH + MAX_LIMIT + 1;

/** The per-deployment secret cursors are signed with (the handler passes it in; see container.ts). */
export type CursorKey = string | Uint8Array;

export interface SearchCursor {
  /** 0-based position of the first item of the page in the ranked list. */
  readonly offset: number;
  /** Leg window pinned at the first page. */
  readonly window: number;
}

/** The request fields a cursor is bound to. */
export interface CursorScope {
  readonly q: string;
  readonly strategy: SearchStrategy;
  readonly filters: SearchFilters;
  readonly limit: number;
  /** A request's own fusion weights: another weighting is another ranking, so another cursor. */
  readonly weights?: Partial<LegWeights>;
  readonly fusion?: string;
  /** Thread grouping and recency order make other lists: pages of one are not pages of another. */
  readonly group?: "thread" | "none";
  readonly sort?: "relevance" | "recent";
  /** Whom the search runs for; the cursor is bound to it. */
  readonly access?: ReadAccess;
}

/** The `u` field: who a cursor belongs to (hashed: a cursor is readable base64 JSON). */
function accessTag(access: ReadAccess | undefined): string | undefined {
  if (!access) return undefined;
  if (access.kind === "unscoped") return "*";
  return createHash("sha256").update(access.viewer.userId).digest("base64url").slice(0, 16);
}

/** Short stable hash of the normalised request (list order and duplicates do not matter). */
export function requestFingerprint(scope: CursorScope): string {
  const norm = (xs: readonly string[] | undefined) => (xs ? [...new Set(xs)].sort() : []);
  const canonical = JSON.stringify([
    scope.q.trim(),
    scope.strategy,
    norm(scope.filters.channels),
    norm(scope.filters.authors),
    norm(scope.filters.sources),
    scope.filters.from?.toISOString() ?? null,
    scope.filters.to?.toISOString() ?? null,
    scope.limit,
    // Appended only when set, so cursors of requests without weights keep their fingerprint.
    ...(scope.weights ? [scope.weights.bm25 ?? null, scope.weights.semantic ?? null] : []),
    ...(scope.fusion ? [scope.fusion] : []),
    // Only when not the plain per-message relevance list, so those cursors keep their fingerprint.
    ...(scope.group === "thread" ? ["group:thread"] : []),
    ...(scope.sort === "recent" ? ["sort:recent"] : []),
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

function mac(payload: string, key: CursorKey): Buffer {
  return createHmac("sha256", key).update(payload).digest().subarray(0, 16);
}

export function encodeCursor(cursor: SearchCursor, scope: CursorScope, key: CursorKey): string {
  const payload = JSON.stringify({
    v: CURSOR_VERSION,
    o: cursor.offset,
    w: cursor.window,
    h: requestFingerprint(scope),
    ...(scope.access ? { u: accessTag(scope.access) } : {}),
  });
  return `${Buffer.from(payload, "utf8").toString("base64url")}.${mac(payload, key).toString("base64url")}`;
}

function invalid(message: string): ValidationError {
  return new ValidationError("Invalid cursor", [{ path: "cursor", message }]);
}

function isCount(x: unknown, min: number, max: number): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= min && x <= max;
}

/**
 * Decodes and checks a cursor against the request it is used with: signature first (a forged or
 * altered cursor is rejected before its fields are read), then version, bounds and query binding.
 * Every failure is a ValidationError (400, path "cursor").
 */
export function decodeCursor(token: string, scope: CursorScope, key: CursorKey): SearchCursor {
  const m = /^([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) throw invalid("is not a valid cursor");
  const payload = Buffer.from(m[1]!, "base64url").toString("utf8");
  const given = Buffer.from(m[2]!, "base64url");
  const expected = mac(payload, key);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw invalid("is not a cursor this service issued");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw invalid("is not a valid cursor");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid("is not a valid cursor");
  const { v, o, w, h, u } = parsed as Record<string, unknown>;
  if (v !== CURSOR_VERSION) throw invalid("was issued by another version; start from the first page");
  if (!isCount(o, 0, MAX_PAGING_DEPTH) || !isCount(w, 1, MAX_CURSOR_WINDOW) || typeof h !== "string") {
    throw invalid("is not a valid cursor");
  }
  if (h !== requestFingerprint(scope))
    throw invalid("belongs to a different query; start from the first page");
  if (u !== accessTag(scope.access)) {
    throw new ForbiddenError("The cursor belongs to another viewer", [
      { path: "cursor", message: "was issued to another viewer; start from the first page" },
    ]);
  }
  return { offset: o, window: w };
}

/**
 * Depth each leg fetches for a page: max(configuredWindow ?? max(3 x limit, 50), offset + limit + 1).
 * The +1 tells whether another page exists. Use it directly for single-leg strategies; hybrid
 * calls it once for the first page and then keeps the pinned window (see planPage).
 */
export function legWindow(limit: number, offset: number, configuredWindow?: number): number {
  const base = configuredWindow ?? Math.max(3 * limit, DEFAULT_MIN_WINDOW);
  return Math.max(base, offset + limit + 1);
}

/**
 * Whether paging keeps the first page's window: hybrid (fusion depends on it), sort=recent (a
 * deeper window could put a newer hit before an earlier page's) and group=thread (offsets count
 * groups, which a window of hits cannot be sized for). Paging then ends with that window's list.
 */
export function pinsWindow(req: {
  readonly strategy: SearchStrategy;
  readonly sort?: "relevance" | "recent";
  readonly group?: "thread" | "none";
}): boolean {
  return req.strategy === "hybrid" || req.sort === "recent" || req.group === "thread";
}

export interface PagePlan {
  readonly offset: number;
  /** How many hits to ask each leg for. */
  readonly window: number;
}

/** Offset and leg window for this request's page (see the module comment for why). */
export function planPage(
  req: {
    readonly strategy: SearchStrategy;
    readonly limit: number;
    readonly cursor?: SearchCursor;
    readonly sort?: "relevance" | "recent";
    readonly group?: "thread" | "none";
  },
  configuredWindow?: number,
): PagePlan {
  const offset = req.cursor?.offset ?? 0;
  if (pinsWindow(req)) {
    return { offset, window: req.cursor?.window ?? legWindow(req.limit, 0, configuredWindow) };
  }
  const pinned = req.cursor?.window ?? legWindow(req.limit, 0, configuredWindow);
  return { offset, window: Math.max(pinned, offset + req.limit + 1) };
}

export interface Page<T> {
  readonly items: T[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * Slices one page out of the ranked list (fused or single-leg). `isLive` says whether a hit's row
 * still exists: false drops it (gone since it was indexed), undefined means not looked up (the
 * caller reads rows only as deep as the page needs). Offsets count positions in the ranked list,
 * not live hits, so a dropped hit never moves a page boundary: no duplicates, no gaps.
 * `mayGoDeeper`: the list is a single leg cut at its window, so hits may exist past its end.
 */
export function paginate<T>(
  ranked: readonly T[],
  plan: PagePlan,
  scope: CursorScope,
  key: CursorKey,
  isLive: (hit: T) => boolean | undefined = () => true,
  mayGoDeeper = false,
): Page<T> {
  const items: T[] = [];
  let pos = plan.offset;
  for (; pos < ranked.length && items.length < scope.limit; pos++) {
    if (isLive(ranked[pos]!) !== false) items.push(ranked[pos]!);
  }
  let next = pos;
  while (next < ranked.length && isLive(ranked[next]!) === false) next++;
  const more = (next < ranked.length || mayGoDeeper) && pos < MAX_PAGING_DEPTH;
  return { items, nextCursor: more ? encodeCursor({ offset: pos, window: plan.window }, scope, key) : null };
}
