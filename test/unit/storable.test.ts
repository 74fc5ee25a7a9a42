import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { messageHash } from "../../functions/core/message-hash";
import {
  canonicalJson,
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  metadataProblems,
  unstorableReason,
} from "../../functions/core/storable";
import { resolveCursorSecret } from "../../functions/shared/cursor-secret";

/** The recursive canonical form the content hash used before issue 22 (hashes must not change). */
function recursiveCanonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(recursiveCanonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, recursiveCanonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Any UTF-16 code units, surrogates (paired or not) and NUL often (fc's "binary" unit is slow to build). */
const codeUnits = fc
  .array(
    fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.constant(0)),
    { maxLength: 40 },
  )
  .map((units) => String.fromCharCode(...units));

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

describe("canonicalJson", () => {
  it("writes exactly what JSON.stringify of the recursively sorted value wrote, so stored hashes stay valid", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(JSON.stringify(recursiveCanonical(v)));
      }),
      { numRuns: 500 },
    );
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  it("keeps the content hash of a message byte-for-byte (a pinned value from before the change)", () => {
    const hash = messageHash({
      externalId: "x",
      channel: "#c",
      author: "a",
      content: "hello",
      timestamp: new Date("2025-12-01T10:00:00Z"),
      threadId: null,
      metadata: { z: 1, "10": 2, "": 3, "2": 4, a: { y: [1, 2], b: "s" } },
    });
    expect(hash).toBe("4afda4d45c62a7097117dabffbe0f7a0f08158c815bb238f1d814f9e6a7d4663");
  });

  it("does not overflow the stack on 100,000 levels (issue 22: 10,000 crashed the recursive version)", () => {
    const deep = nested(100_000);
    expect(() => recursiveCanonical(nested(10_000))).toThrow(RangeError);
    expect(canonicalJson(deep).length).toBe(100_000 * 6 + 1);
  });
});

describe("what the stores accept", () => {
  it("names NUL and lone surrogates, accepts paired surrogates and everything else", () => {
    expect(unstorableReason("a\u0000")).toMatch(/NUL/);
    expect(unstorableReason("\ud800")).toMatch(/surrogate/);
    expect(unstorableReason("x\udfffy")).toMatch(/surrogate/);
    expect(unstorableReason("\ud83d\ude00 ok")).toBeUndefined();
    fc.assert(
      fc.property(codeUnits, (s) => {
        // The same answer as the platform's well-formedness check (Node 20: isWellFormed).
        const wellFormed = (s as unknown as { isWellFormed(): boolean }).isWellFormed();
        return (unstorableReason(s) === undefined) === (wellFormed && !s.includes("\u0000"));
      }),
      { numRuns: 1000 },
    );
  });

  it("bounds metadata depth and size, and names the bad key or value", () => {
    expect(metadataProblems(nested(MAX_METADATA_DEPTH), "m")).toEqual([]);
    expect(metadataProblems(nested(MAX_METADATA_DEPTH + 1), "m")[0]?.message).toMatch(/nested at most/);
    expect(metadataProblems(nested(10_000), "m")).toHaveLength(1);
    expect(metadataProblems({ big: "x".repeat(MAX_METADATA_BYTES) }, "m")[0]?.message).toMatch(/bytes/);
    expect(metadataProblems({ a: [{ b: "\u0000" }] }, "m")).toEqual([
      { path: "m.a.0.b", message: "must not contain NUL (U+0000)" },
    ]);
  });
});

describe("the local cursor secret", () => {
  it("is generated once under CACHE_DIR (0600) and reused; CURSOR_SECRET wins; Lambda must set it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cursor-secret-"));
    try {
      const first = resolveCursorSecret({ CACHE_DIR: dir });
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(resolveCursorSecret({ CACHE_DIR: dir })).toBe(first);
      const file = path.join(dir, "cursor-secret");
      expect(readFileSync(file, "utf8").trim()).toBe(first);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(resolveCursorSecret({ CACHE_DIR: dir, CURSOR_SECRET: "s".repeat(32) })).toBe("s".repeat(32));
      expect(() => resolveCursorSecret({ CACHE_DIR: dir, inLambda: true })).toThrow(/CURSOR_SECRET/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
