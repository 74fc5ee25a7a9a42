import { type ErrorDetail, ValidationError } from "../errors";
import type { SearchFilters } from "../model";

/** One directory entry a name matched: its id and source (`type:name`), and which field matched. */
export interface NameCandidate {
  readonly id: string;
  readonly source: string;
  /** The handle (`name`) or the display name matched; a handle match wins over display names. */
  readonly by: "name" | "display_name";
}

export interface NameMatches {
  /** The value as typed (`#general`, `@alice`). */
  readonly value: string;
  readonly candidates: readonly NameCandidate[];
  /** Messages carry the value itself (an app's channel "#platform"): it stays a literal match. */
  readonly literal: boolean;
}

/** Looks names up in the directory (names are compared case-insensitively, without the sigil). */
export interface NameDirectory {
  matchNames(
    kind: "user" | "conversation",
    values: readonly string[],
    sources: readonly string[] | undefined,
  ): Promise<NameMatches[]>;
  /** Direct-message conversations with any of these people (their ids): `in:@person`. */
  directMessageChannels(
    userIds: readonly string[],
    sources: readonly string[] | undefined,
  ): Promise<string[]>;
}

/** Which filter values are names: `#name` for channels, `@name` for authors; anything else is an id. */
const SIGIL = { channels: "#", authors: "@" } as const;

/**
 * Resolves `channel=#general` and `author=@alice` to the ids messages carry, through the
 * directory, at query time (a rename changes what a name finds without re-indexing anything).
 * A value that matches no entry and no message is a 400 naming it; one that matches several
 * people or conversations is a 400 listing them (add a source filter or use the id). Returns the
 * substitution the search legs apply to their filters.
 */
export async function resolveNamedFilters(
  directory: NameDirectory,
  filters: SearchFilters,
): Promise<(f: SearchFilters) => SearchFilters> {
  const details: ErrorDetail[] = [];
  const tables = { channels: new Map<string, string[]>(), authors: new Map<string, string[]>() };
  for (const field of ["channels", "authors"] as const) {
    const named = (filters[field] ?? []).filter((v) => v.startsWith(SIGIL[field]) && v.length > 1);
    if (named.length === 0) continue;
    const path = field === "channels" ? "channel" : "author";
    const what = field === "channels" ? "conversation" : "person";
    const matches = await directory.matchNames(
      field === "channels" ? "conversation" : "user",
      named,
      filters.sources,
    );
    for (const m of matches) {
      const byHandle = m.candidates.filter((c) => c.by === "name");
      const chosen = byHandle.length > 0 ? byHandle : m.candidates;
      const distinct = [...new Map(chosen.map((c) => [`${c.source}|${c.id}`, c])).values()];
      if (distinct.length > 1) {
        const list = distinct.map((c) => `${c.id} (${c.source})`).join(", ");
        details.push({
          path,
          message: `"${m.value}" is ambiguous: it names ${list}; use the id or add a source filter`,
        });
      } else if (distinct.length === 0 && !m.literal) {
        details.push({ path, message: `"${m.value}" matches no ${what} in the directory and no message` });
      } else {
        tables[field].set(m.value, [...distinct.map((c) => c.id), ...(m.literal ? [m.value] : [])]);
      }
    }
  }
  if (details.length > 0) throw new ValidationError("Unknown or ambiguous names in the filters", details);
  if (tables.channels.size === 0 && tables.authors.size === 0) return (f) => f;
  const substitute = (values: readonly string[] | undefined, table: Map<string, string[]>) =>
    values ? [...new Set(values.flatMap((v) => table.get(v) ?? [v]))] : undefined;
  return (f) => {
    const channels = substitute(f.channels, tables.channels);
    const authors = substitute(f.authors, tables.authors);
    return { ...f, ...(channels ? { channels } : {}), ...(authors ? { authors } : {}) };
  };
}
