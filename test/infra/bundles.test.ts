import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../lib/trisearch-function";

/** The acceptance limit for a minified handler bundle. */
const MAX_BUNDLE_BYTES = 1.5 * 1024 * 1024;

let template: Template;
let outdir: string;
const assetDir: Record<string, string> = {};

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), "trisearch-cdk-"));
  // The real thing: every function bundled by the local esbuild, as `npm run synth` does, in a
  // child process (CDK bundles synchronously; this worker must stay free to answer vitest).
  await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "synth-bundled.ts"), outdir],
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const synth = JSON.parse(readFileSync(path.join(outdir, "synth.json"), "utf8")) as {
    template: Record<string, unknown>;
    fnIds: Record<string, string>;
  };
  template = Template.fromJSON(synth.template);
  const fns = template.findResources("AWS::Lambda::Function");
  for (const [name, id] of Object.entries(synth.fnIds)) {
    const key = fns[id]!.Properties.Code.S3Key as string;
    assetDir[name] = path.join(outdir, `asset.${key.replace(/\.zip$/, "")}`);
  }
}, 600_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe("Lambda bundles", () => {
  it("bundles every handler as minified ESM with a source map, under 1.5 MB", () => {
    const sizes: Record<string, string> = {};
    for (const [name, dir] of Object.entries(assetDir)) {
      const file = path.join(dir, "index.mjs");
      expect(existsSync(file), name).toBe(true);
      expect(existsSync(`${file}.map`), name).toBe(true);
      const bytes = statSync(file).size;
      sizes[name] = `${(bytes / 1024).toFixed(0)} KiB`;
      expect(bytes, name).toBeLessThan(MAX_BUNDLE_BYTES);
      const code = readFileSync(file, "utf8");
      // The createRequire banner first (CJS deps in an ESM bundle), an ESM export, minified (long lines).
      expect(code.startsWith("import { createRequire as __trisearchCreateRequire }"), name).toBe(true);
      expect(code, name).toMatch(/export\s*\{[^}]*handler/);
      // (measured by the share of code on long lines: the search page's bundle also carries its
      // multi-line HTML as string data)
      const onLongLines = code
        .split("\n")
        .filter((line) => line.length > 1000)
        .reduce((sum, line) => sum + line.length, 0);
      expect(onLongLines / code.length, name).toBeGreaterThan(0.9);
    }
    console.info("bundle sizes (index.mjs, minified):", sizes);
  });

  it("leaves the runtime's AWS SDK and the local-only ONNX runtime out of the bundles", () => {
    for (const [name, dir] of Object.entries(assetDir)) {
      const code = readFileSync(path.join(dir, "index.mjs"), "utf8");
      expect(code, name).not.toContain("onnxruntime-node/bin");
      expect(code, name).not.toMatch(/class SQSClient\b/);
    }
    const ingest = readFileSync(path.join(assetDir.ingest!, "index.mjs"), "utf8");
    expect(ingest).toMatch(/from\s*"@aws-sdk\/client-sqs"/);
  });

  it("resolves secrets before the handler module is evaluated (entry wrapper)", () => {
    const code = readFileSync(path.join(assetDir.search!, "index.mjs"), "utf8");
    expect(code).toContain("@aws-sdk/client-secrets-manager");
    expect(code).toContain("DB_SECRET_ARN");
    // The TRISEARCH_HANDLER define was substituted: no free identifier left in the bundle.
    expect(code).not.toContain("TRISEARCH_HANDLER");
  });

  it("ships migrations/*.sql next to the migration function's index.mjs", () => {
    const repo = readdirSync(path.join(REPO_ROOT, "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    const bundled = readdirSync(path.join(assetDir.migrate!, "migrations")).sort();
    expect(repo.length).toBeGreaterThan(0);
    expect(bundled).toEqual(repo);
    for (const name of Object.keys(assetDir).filter((n) => n !== "migrate")) {
      expect(existsSync(path.join(assetDir[name]!, "migrations")), name).toBe(false);
    }
  });
});
