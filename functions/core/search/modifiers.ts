import type { MessageFeature } from "../model";
import type { RawModifier } from "./query-parser";

/**
 * The meaning of Slack's search modifiers (query-parser.ts takes them out of the text):
 *
 * | modifier | filter |
 * | --- | --- |
 * | `in:#channel`, `in:C123`, `in:channel` | the channel (a name resolves through the directory; an id is used as is) |
 * | `in:@person` | direct messages with that person |
 * | `from:@person`, `from:U123` | the author |
 * | `to:@person`, `to:U123` | messages that mention the person |
 * | `before:D`, `after:D`, `on:D`, `during:D` | strictly before / strictly after / within the day, month or year D |
 * | `has:link`, `has:reaction`, `has:file` | message-features.ts |
 * | `is:thread` | messages in a thread |
 * | `-in:...`, `-from:...` (or `NOT in:...`) | exclusions |
 *
 * Several `in:` (or `from:`, `to:`) are alternatives, as in Slack; different modifiers, and the
 * request's own filters, must all hold. Dates (UTC): `2025-12-05`, `2025/12/05`, `12/5/2025`,
 * `2025-12` (a month), `2025` (a year), a month's name (`december`, `dec`: its latest start not
 * in the future), `today`, `yesterday`. A modifier that cannot be used (bad date, unknown value,
 * a negation other than `-in:`/`-from:`) is reported in `notApplied` and searched for neither as
 * a filter nor as a word.
 */

export interface SearchModifiers {
  /** `in:` channel values as typed (`#general`, `C123`, `general`). */
  readonly channels: readonly string[];
  /** `in:@person`: direct messages with these people (as typed). */
  readonly dmWith: readonly string[];
  readonly excludeChannels: readonly string[];
  /** `-in:@person`. */
  readonly excludeDmWith: readonly string[];
  readonly from: readonly string[];
  readonly excludeFrom: readonly string[];
  readonly to: readonly string[];
  /** Inclusive bounds from the date modifiers (their intersection). */
  readonly since?: Date;
  readonly until?: Date;
  readonly has: readonly MessageFeature[];
  readonly isThread: boolean;
}

export interface NotApplied {
  /** As typed (`in:#nope`). */
  readonly modifier: string;
  readonly reason: string;
}

export const NO_MODIFIERS: SearchModifiers = {
  channels: [],
  dmWith: [],
  excludeChannels: [],
  excludeDmWith: [],
  from: [],
  excludeFrom: [],
  to: [],
  has: [],
  isThread: false,
};

const DATE_HELP = "bad date: use YYYY-MM-DD, M/D/YYYY, YYYY-MM, YYYY, a month's name, today or yesterday";

/** A half-open UTC period [start, end). */
interface Period {
  readonly start: Date;
  readonly end: Date;
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

function monthIndex(name: string): number {
  const n = name.toLowerCase();
  if (n === "sept") return 8;
  return n.length >= 3 ? MONTHS.findIndex((m) => m === n || m.slice(0, 3) === n) : -1;
}

function day(y: number, m: number, d: number): Period | null {
  if (y < 1970 || y > 2100 || m < 1 || m > 12 || d < 1) return null;
  if (d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return null;
  return { start: new Date(Date.UTC(y, m - 1, d)), end: new Date(Date.UTC(y, m - 1, d + 1)) };
}

function month(y: number, m: number): Period | null {
  if (y < 1970 || y > 2100 || m < 1 || m > 12) return null;
  return { start: new Date(Date.UTC(y, m - 1, 1)), end: new Date(Date.UTC(y, m, 1)) };
}

/** A date value as Slack accepts it, as the UTC period it names; null when it names none. */
export function parseDatePeriod(value: string, now: Date): Period | null {
  const v = value.trim().toLowerCase();
  const ymd = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/.exec(v);
  if (ymd) return day(+ymd[1]!, +ymd[2]!, +ymd[3]!);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v);
  if (us) return day(+us[3]!, +us[1]!, +us[2]!);
  const ym = /^(\d{4})-(\d{1,2})$/.exec(v);
  if (ym) return month(+ym[1]!, +ym[2]!);
  const yyyy = /^(\d{4})$/.exec(v);
  if (yyyy) {
    const y = +yyyy[1]!;
    if (y < 1970 || y > 2100) return null;
    return { start: new Date(Date.UTC(y, 0, 1)), end: new Date(Date.UTC(y + 1, 0, 1)) };
  }
  const today = day(now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate());
  if (v === "today") return today;
  if (v === "yesterday" && today) {
    const start = new Date(today.start.getTime() - 86_400_000);
    return { start, end: today.start };
  }
  const mi = monthIndex(v);
  if (mi >= 0) {
    // The latest such month that has begun: in December, "march" is this year's; in February, last year's.
    const y = mi <= now.getUTCMonth() ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
    return month(y, mi + 1);
  }
  return null;
}

const FEATURES: Record<string, MessageFeature> = {
  link: "link",
  links: "link",
  reaction: "reaction",
  reactions: "reaction",
  file: "file",
  files: "file",
};

/** Gives each modifier its meaning; what cannot be used is reported, never searched as text. */
export function interpretModifiers(
  raw: readonly RawModifier[],
  now: Date,
): { modifiers: SearchModifiers; notApplied: NotApplied[] } {
  const out = {
    channels: [] as string[],
    dmWith: [] as string[],
    excludeChannels: [] as string[],
    excludeDmWith: [] as string[],
    from: [] as string[],
    excludeFrom: [] as string[],
    to: [] as string[],
    has: [] as MessageFeature[],
    isThread: false,
  };
  let since: Date | undefined;
  let until: Date | undefined;
  const notApplied: NotApplied[] = [];
  const reject = (mod: RawModifier, reason: string) => notApplied.push({ modifier: mod.text, reason });
  const add = (list: string[], v: string) => {
    if (!list.includes(v)) list.push(v);
  };

  for (const mod of raw) {
    const value = mod.value.trim();
    if (mod.negated && mod.key !== "in" && mod.key !== "from") {
      reject(mod, "only in: and from: can be negated");
      continue;
    }
    switch (mod.key) {
      case "in": {
        if (value === "" || value === "#" || value === "@") {
          reject(mod, "needs a channel (#name or id) or a person (@name)");
        } else if (value.startsWith("@")) add(mod.negated ? out.excludeDmWith : out.dmWith, value);
        else add(mod.negated ? out.excludeChannels : out.channels, value);
        break;
      }
      case "from":
      case "to": {
        if (value === "" || value === "@") {
          reject(mod, "needs a person (@name or id)");
          break;
        }
        const list = mod.key === "to" ? out.to : mod.negated ? out.excludeFrom : out.from;
        add(list, value);
        break;
      }
      case "before":
      case "after":
      case "on":
      case "during": {
        const p = parseDatePeriod(value, now);
        if (!p) {
          reject(mod, DATE_HELP);
          break;
        }
        // Bounds are inclusive: the last millisecond before a period's end.
        const lo = mod.key === "before" ? undefined : mod.key === "after" ? p.end : p.start;
        const hi =
          mod.key === "after" ? undefined : new Date((mod.key === "before" ? p.start : p.end).getTime() - 1);
        if (lo && (!since || lo > since)) since = lo;
        if (hi && (!until || hi < until)) until = hi;
        break;
      }
      case "has": {
        const f = FEATURES[value.toLowerCase()];
        if (!f) reject(mod, "has: takes link, reaction or file");
        else if (!out.has.includes(f)) out.has.push(f);
        break;
      }
      case "is": {
        if (value.toLowerCase() === "thread") out.isThread = true;
        else reject(mod, "is: takes thread");
        break;
      }
    }
  }
  return {
    modifiers: { ...out, ...(since ? { since } : {}), ...(until ? { until } : {}) },
    notApplied,
  };
}

/** Whether any modifier was applied (the response then echoes them). */
export function hasModifiers(m: SearchModifiers): boolean {
  return (
    m.channels.length +
      m.dmWith.length +
      m.excludeChannels.length +
      m.excludeDmWith.length +
      m.from.length +
      m.excludeFrom.length +
      m.to.length +
      m.has.length >
      0 ||
    m.isThread ||
    m.since !== undefined ||
    m.until !== undefined
  );
}
