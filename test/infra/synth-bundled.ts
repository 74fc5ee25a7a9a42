import { writeFileSync } from "node:fs";
import path from "node:path";
import { synthStack } from "./support";

/**
 * `tsx test/infra/synth-bundled.ts OUTDIR`: the stack synthesized with every function bundled by
 * esbuild, as `npm run synth` does. bundles.test.ts runs this in a child process: CDK bundles
 * synchronously, and on a loaded machine that blocked the vitest worker past its RPC timeout.
 * Writes OUTDIR/synth.json: the template and each handler's function logical id.
 */
const outdir = process.argv[2];
if (!outdir) throw new Error("usage: synth-bundled.ts OUTDIR");
const s = synthStack({ bundle: true, outdir });
writeFileSync(
  path.join(outdir, "synth.json"),
  JSON.stringify({ template: s.template.toJSON(), fnIds: s.fnIds }),
);
