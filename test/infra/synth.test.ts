import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../lib/trisearch-function";

const run = promisify(execFile);
const outdir = mkdtempSync(path.join(tmpdir(), "trisearch-nag-probe-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("cdk synth applies cdk-nag (lib/app.ts, the app of bin/trisearch.ts)", () => {
  it("fails on an unsuppressed nag error in a probe construct, and reports no error anywhere else", async () => {
    // The real CLI with cdk.json's context; the probe app only skips asset bundling.
    const result = await run(
      "npx",
      [
        "cdk",
        "synth",
        "--app",
        "npx tsx test/infra/fixtures/nag-probe-app.ts",
        "--output",
        outdir,
        "--quiet",
        "--no-notices",
      ],
      { cwd: REPO_ROOT, env: { ...process.env, NAG_PROBE: "1" }, maxBuffer: 16 * 1024 * 1024 },
    ).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        output: e.stdout + e.stderr,
      }),
    );
    expect(result.code, result.output.slice(-2000)).not.toBe(0);
    // Each error is "ERROR AwsSolutions-X: ..." followed by the construct path on the next line.
    const lines = result.output.split("\n");
    const errors = lines.flatMap((line, i) =>
      line.startsWith("ERROR ") ? [`${line.split(":")[0]} ${lines[i + 1]?.trim()}`] : [],
    );
    expect(errors).toContain("ERROR AwsSolutions-S1 Trisearch/NagProbe/Resource");
    expect(errors.filter((e) => !e.includes("/NagProbe/"))).toEqual([]);
  }, 240_000);
});
