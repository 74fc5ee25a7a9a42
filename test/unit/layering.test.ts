import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The layer fence of .dependency-cruiser.cjs (run by `npm run check` as `npm run layers`) fails on
 * the imports it forbids. Probe files live in a scratch tree with the project's config, tsconfig
 * and node_modules, so the real tree is never touched; `npm run layers` checks the real one.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PROBES: Record<string, string> = {
  // Allowed: core to core, a node: built-in and zod.
  "functions/core/model.ts": "export type Id = number;\n",
  "functions/core/clean.ts":
    'import { createHash } from "node:crypto";\nimport { z } from "zod";\nimport type { Id } from "./model";\n' +
    "export const id = (x: Id) => z.number().parse(x) + createHash('sha1').digest().length;\n",
  // Forbidden: core to an adapter, to an SDK, to a driver, to the wiring.
  "functions/core/probe-adapter.ts":
    'import { PgProbe } from "../adapters/postgres/pg-probe";\nexport const a = PgProbe;\n',
  "functions/core/probe-sdk.ts":
    'import { SQSClient } from "@aws-sdk/client-sqs";\nexport const b = SQSClient;\n',
  "functions/core/probe-driver.ts": 'import type pg from "pg";\nexport type C = pg.Pool;\n',
  "functions/core/probe-wiring.ts":
    'import { clients } from "../shared/clients";\nexport const d = clients;\n',
  // Forbidden: an adapter to another adapter and to the wiring.
  "functions/adapters/postgres/pg-probe.ts":
    'import { where } from "../chroma/where";\nimport { clients } from "../../shared/clients";\n' +
    'import type { Id } from "../../core/model";\nexport class PgProbe { id: Id = where + clients; }\n',
  "functions/adapters/chroma/where.ts": "export const where = 1;\n",
  "functions/shared/clients.ts": "export const clients = 2;\n",
  // Forbidden: a handler to an adapter (handlers take ports from the root).
  "functions/handlers/probe.ts":
    'import { PgProbe } from "../adapters/postgres/pg-probe";\nexport const handler = () => new PgProbe();\n',
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

let scratch: string;
let violations: Violation[];

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "trisearch-layers-"));
  for (const [file, text] of Object.entries(PROBES)) {
    mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
    writeFileSync(path.join(scratch, file), text);
  }
  writeFileSync(
    path.join(scratch, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "ESNext", moduleResolution: "Bundler", strict: true } }),
  );
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(scratch, "node_modules"), "dir");
  // The project's rules and options, with the symlinked node_modules kept as `node_modules/...`:
  // packages then have the paths they have in the real tree (an `exclude` of ^node_modules would
  // hide every SDK import from the rules there, and so it must here).
  writeFileSync(
    path.join(scratch, "dependency-cruiser.cjs"),
    `const base = require(${JSON.stringify(path.join(repoRoot, ".dependency-cruiser.cjs"))});\n` +
      "module.exports = { ...base, options: { ...base.options, preserveSymlinks: true } };\n",
  );
  const res = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"),
      "functions",
      "--config",
      path.join(scratch, "dependency-cruiser.cjs"),
      "--output-type",
      "json",
    ],
    { cwd: scratch, encoding: "utf8", timeout: 60_000 },
  );
  if (res.error || !res.stdout) throw new Error(`depcruise did not run: ${res.error?.message ?? res.stderr}`);
  violations = (JSON.parse(res.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}, 90_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const broken = (rule: string) =>
  violations
    .filter((v) => v.rule.name === rule)
    .map((v) => `${v.from} -> ${v.to.replace(/^.*node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*$/, "$1")}`)
    .sort();

describe("the layer check (dependency-cruiser)", () => {
  it("fails a probe import from core to an adapter, an SDK, a driver or the wiring", () => {
    expect(broken("core-imports-only-core")).toEqual([
      "functions/core/probe-adapter.ts -> functions/adapters/postgres/pg-probe.ts",
      "functions/core/probe-driver.ts -> pg",
      "functions/core/probe-sdk.ts -> @aws-sdk/client-sqs",
      "functions/core/probe-wiring.ts -> functions/shared/clients.ts",
    ]);
  });

  it("fails an adapter that imports another adapter or the wiring, and a handler that imports an adapter", () => {
    expect(broken("adapters-import-core-only")).toEqual([
      "functions/adapters/postgres/pg-probe.ts -> functions/adapters/chroma/where.ts",
      "functions/adapters/postgres/pg-probe.ts -> functions/shared/clients.ts",
    ]);
    expect(broken("handlers-import-root-and-core")).toEqual([
      "functions/handlers/probe.ts -> functions/adapters/postgres/pg-probe.ts",
    ]);
  });

  it("passes core importing core, node: built-ins and zod", () => {
    expect(violations.filter((v) => v.from === "functions/core/clean.ts")).toEqual([]);
    expect(violations.filter((v) => v.from === "functions/core/model.ts")).toEqual([]);
  });
});
