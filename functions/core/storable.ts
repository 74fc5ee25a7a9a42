import * as z from "zod";
import type { ErrorDetail } from "./errors";

/**
 * What the stores accept, checked before anything is written, so bad input is a 400 naming the
 * field instead of a 500 from PostgreSQL (or text silently changed by the driver):
 * - PostgreSQL text and jsonb reject NUL (U+0000);
 * - a lone UTF-16 surrogate cannot be encoded as UTF-8: node-postgres turns it into U+FFFD in a
 *   text column (silent change) and jsonb rejects its `\ud800` escape;
 * - timestamps: PostgreSQL takes years 4713 BC..294276 AD, JavaScript dates fewer; a message
 *   outside 1970..2100 is a client's mistake, not history;
 * - metadata is bounded so one message cannot carry megabytes or a 10,000-deep nesting that the
 *   content hash and jsonb would have to walk.
 */

export const MIN_TIMESTAMP_MS = Date.UTC(1970, 0, 1);
/** Exclusive: the last accepted instant is 2100-12-31T23:59:59.999Z. */
export const MAX_TIMESTAMP_MS = Date.UTC(2101, 0, 1);
/** Serialized JSON size of one message's metadata, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 16 * 1024;
/** Nesting depth of metadata: `{}` is depth 1, `{"a":{"b":1}}` depth 2. */
export const MAX_METADATA_DEPTH = 16;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL would reject or change this string, or undefined if it is storable. */
export function unstorableReason(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain NUL (U+0000)";
  if (LONE_SURROGATE.test(s)) return "must not contain a lone UTF-16 surrogate (not valid Unicode)";
  return undefined;
}

/** A zod string that PostgreSQL stores unchanged: the issue names the field and the reason. */
export const storableString = (opts?: Parameters<typeof z.string>[0]) =>
  z.string(opts).superRefine((s, ctx) => {
    const reason = unstorableReason(s);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
  });

export function timestampOutOfRange(d: Date): boolean {
  const t = d.getTime();
  return !(t >= MIN_TIMESTAMP_MS && t < MAX_TIMESTAMP_MS);
}

/**
 * Checks a metadata object without recursion (a hostile nesting cannot overflow the stack):
 * every key and string value storable, depth and serialized size within the limits. Returns
 * details whose paths start with `path` (e.g. `messages.3.metadata.tags.0`).
 */
export function metadataProblems(value: unknown, path: string): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 1 }];
  while (stack.length > 0 && problems.length < 20) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === "string") {
      const reason = unstorableReason(v);
      if (reason) problems.push({ path: item.path, message: reason });
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    if (item.depth > MAX_METADATA_DEPTH) {
      problems.push({ path, message: `must be nested at most ${MAX_METADATA_DEPTH} levels deep` });
      return problems;
    }
    const entries: [string, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [String(i), x])
      : Object.entries(v as Record<string, unknown>);
    for (const [key, child] of entries) {
      const childPath = `${item.path}.${key}`;
      const reason = Array.isArray(v) ? undefined : unstorableReason(key);
      if (reason) problems.push({ path: childPath, message: `key ${reason}` });
      else stack.push({ value: child, path: childPath, depth: item.depth + 1 });
    }
  }
  if (problems.length === 0) {
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
    if (bytes > MAX_METADATA_BYTES) {
      problems.push({ path, message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON (is ${bytes})` });
    }
  }
  return problems;
}

/**
 * JSON with object keys sorted at every level (jsonb does not keep key order, so a hash over it
 * must not depend on it). Iterative, so no nesting depth can overflow the stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to write, or a literal piece of output (separators, closing brackets).
  const work: ({ value: unknown } | { text: string })[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if ("text" in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (Array.isArray(v)) {
      const parts: ({ value: unknown } | { text: string })[] = [{ text: "[" }];
      v.forEach((x, i) => {
        if (i > 0) parts.push({ text: "," });
        // JSON.stringify writes null for undefined/functions inside arrays.
        parts.push(x === undefined || typeof x === "function" ? { text: "null" } : { value: x });
      });
      parts.push({ text: "]" });
      for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
    } else if (v !== null && typeof v === "object" && !(v instanceof Date)) {
      const sorted = Object.keys(v)
        .filter((k) => {
          const x = (v as Record<string, unknown>)[k];
          return x !== undefined && typeof x !== "function";
        })
        .sort();
      // The order an object built from the sorted keys enumerates in (integer-like keys first),
      // which is what the hash has always covered.
      const keys = Object.keys(Object.fromEntries(sorted.map((k) => [k, 0])));
      const parts: ({ value: unknown } | { text: string })[] = [{ text: "{" }];
      keys.forEach((k, i) => {
        parts.push({ text: `${i > 0 ? "," : ""}${JSON.stringify(k)}:` });
        parts.push({ value: (v as Record<string, unknown>)[k] });
      });
      parts.push({ text: "}" });
      for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
    } else {
      out.push(JSON.stringify(v) ?? "null");
    }
  }
  return out.join("");
}
