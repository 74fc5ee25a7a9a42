import type { MessageFeature, SearchFilters } from "../model";
import type { NotApplied, SearchModifiers } from "../search/modifiers";
import type { NameDirectory, NameMatches } from "./named-filters";

/** What the response echoes: each modifier that became a filter, as typed; dates as ISO bounds. */
export interface AppliedModifiers {
  readonly channel?: string[];
  readonly dm?: string[];
  readonly exclude_channel?: string[];
  readonly exclude_dm?: string[];
  readonly from?: string[];
  readonly exclude_from?: string[];
  readonly to?: string[];
  /** Inclusive bounds from before:/after:/on:/during: (the request's from/to apply as well). */
  readonly date?: { readonly from?: string; readonly to?: string };
  readonly has?: MessageFeature[];
  readonly is?: "thread"[];
}

export interface ResolvedModifiers {
  /** Adds the modifiers' filters to (already name-resolved) request filters. */
  readonly apply: (f: SearchFilters) => SearchFilters;
  readonly applied: AppliedModifiers;
  readonly notApplied: NotApplied[];
}

type Kind = "user" | "conversation";

/** Ids a value stands for, or why it stands for none. */
type Resolution = { ids: string[] } | { reason: string };

/**
 * Resolves the modifiers' names through the directory, as the request's named filters are: `#name`
 * and `@name` are names (an app's messages may carry the name itself, which then matches too); a
 * value without a sigil is an id, and also a name when the directory knows one (`in:general`).
 * A name that matches nothing, or several people or conversations, is not applied but reported.
 */
async function resolveValues(
  directory: NameDirectory,
  kind: Kind,
  values: readonly string[],
  sources: readonly string[] | undefined,
): Promise<Map<string, Resolution>> {
  const sigil = kind === "user" ? "@" : "#";
  const out = new Map<string, Resolution>();
  if (values.length === 0) return out;
  const asName = (v: string) => (v.startsWith(sigil) ? v : `${sigil}${v}`);
  const matches = await directory.matchNames(kind, [...new Set(values.map(asName))], sources);
  const byValue = new Map<string, NameMatches>(matches.map((m) => [m.value, m]));
  const what = kind === "user" ? "person" : "channel";
  for (const v of values) {
    const bare = !v.startsWith(sigil);
    const m = byValue.get(asName(v));
    const byHandle = m?.candidates.filter((c) => c.by === "name") ?? [];
    const chosen = byHandle.length > 0 ? byHandle : (m?.candidates ?? []);
    const ids = [...new Set(chosen.map((c) => c.id))];
    if (bare) {
      out.set(v, { ids: [v, ...ids, ...(m?.literal ? [asName(v)] : [])] });
    } else if (ids.length > 1) {
      const list = [...new Map(chosen.map((c) => [`${c.source}|${c.id}`, `${c.id} (${c.source})`])).values()];
      out.set(v, { reason: `ambiguous ${what}: names ${list.join(", ")}; use the id` });
    } else if (ids.length === 0 && !m?.literal) {
      out.set(v, { reason: `unknown ${what}` });
    } else {
      out.set(v, { ids: [...ids, ...(m?.literal ? [v] : [])] });
    }
  }
  return out;
}

/** Only what both lists allow; a list that is absent allows everything. */
function intersect(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  if (!a) return b ? [...b] : undefined;
  if (!b) return [...a];
  const keep = new Set(b);
  return a.filter((x) => keep.has(x));
}

/**
 * Turns the modifiers into filters on the ids messages carry (the legs' filters), and says which
 * were applied and which not (with the reason). Called once per search, beside the named filters.
 */
export async function resolveModifiers(
  directory: NameDirectory,
  modifiers: SearchModifiers,
  sources: readonly string[] | undefined,
): Promise<ResolvedModifiers> {
  const notApplied: NotApplied[] = [];
  const [conversations, users] = await Promise.all([
    resolveValues(directory, "conversation", [...modifiers.channels, ...modifiers.excludeChannels], sources),
    resolveValues(
      directory,
      "user",
      [
        ...modifiers.dmWith,
        ...modifiers.excludeDmWith,
        ...modifiers.from,
        ...modifiers.excludeFrom,
        ...modifiers.to,
      ],
      sources,
    ),
  ]);
  // Each list's applied values and the ids they stand for; the rest is reported.
  const take = (values: readonly string[], table: Map<string, Resolution>, prefix: string) => {
    const applied: string[] = [];
    const ids = new Set<string>();
    for (const v of values) {
      const r = table.get(v)!;
      if ("reason" in r) notApplied.push({ modifier: `${prefix}${v}`, reason: r.reason });
      else {
        applied.push(v);
        for (const id of r.ids) ids.add(id);
      }
    }
    return { applied, ids: [...ids] };
  };
  const channels = take(modifiers.channels, conversations, "in:");
  const excludeChannels = take(modifiers.excludeChannels, conversations, "-in:");
  const dmWith = take(modifiers.dmWith, users, "in:");
  const excludeDmWith = take(modifiers.excludeDmWith, users, "-in:");
  const from = take(modifiers.from, users, "from:");
  const excludeFrom = take(modifiers.excludeFrom, users, "-from:");
  const to = take(modifiers.to, users, "to:");
  const [dmChannels, excludedDmChannels] = await Promise.all([
    dmWith.applied.length > 0 ? directory.directMessageChannels(dmWith.ids, sources) : [],
    excludeDmWith.applied.length > 0 ? directory.directMessageChannels(excludeDmWith.ids, sources) : [],
  ]);

  // `in:` values are alternatives: a channel or a DM. None applied: no channel condition at all.
  const inChannels =
    channels.applied.length + dmWith.applied.length > 0 ? [...channels.ids, ...dmChannels] : undefined;
  const fromAuthors = from.applied.length > 0 ? from.ids : undefined;
  const excluded = [...excludeChannels.ids, ...excludedDmChannels];
  const { since, until } = modifiers;

  const apply = (f: SearchFilters): SearchFilters => {
    const channelsF = intersect(f.channels, inChannels);
    const authorsF = intersect(f.authors, fromAuthors);
    const fromDate = since && (!f.from || since > f.from) ? since : f.from;
    const toDate = until && (!f.to || until < f.to) ? until : f.to;
    return {
      ...f,
      ...(channelsF ? { channels: channelsF } : {}),
      ...(authorsF ? { authors: authorsF } : {}),
      ...(fromDate ? { from: fromDate } : {}),
      ...(toDate ? { to: toDate } : {}),
      ...(excluded.length > 0 ? { excludeChannels: [...(f.excludeChannels ?? []), ...excluded] } : {}),
      ...(excludeFrom.ids.length > 0
        ? { excludeAuthors: [...(f.excludeAuthors ?? []), ...excludeFrom.ids] }
        : {}),
      ...(to.applied.length > 0 ? { mentions: to.ids } : {}),
      ...(modifiers.has.length > 0 ? { has: modifiers.has } : {}),
      ...(modifiers.isThread ? { inThread: true } : {}),
    };
  };

  const nonEmpty = (xs: string[]) => (xs.length > 0 ? xs : undefined);
  const entries: [keyof AppliedModifiers, unknown][] = [
    ["channel", nonEmpty(channels.applied)],
    ["dm", nonEmpty(dmWith.applied)],
    ["exclude_channel", nonEmpty(excludeChannels.applied)],
    ["exclude_dm", nonEmpty(excludeDmWith.applied)],
    ["from", nonEmpty(from.applied)],
    ["exclude_from", nonEmpty(excludeFrom.applied)],
    ["to", nonEmpty(to.applied)],
    [
      "date",
      since || until
        ? { ...(since ? { from: since.toISOString() } : {}), ...(until ? { to: until.toISOString() } : {}) }
        : undefined,
    ],
    ["has", modifiers.has.length > 0 ? [...modifiers.has] : undefined],
    ["is", modifiers.isThread ? ["thread"] : undefined],
  ];
  const applied = Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as AppliedModifiers;
  return { apply, applied, notApplied };
}

/** A filter no message can pass: a channel or author list left empty by the modifiers. */
export function matchesNothing(f: SearchFilters): boolean {
  return (
    (f.channels !== undefined && f.channels.length === 0) ||
    (f.authors !== undefined && f.authors.length === 0)
  );
}
