/**
 * `npm run build`: bundles what runs outside the repository into dist/ with esbuild.
 *
 *   dist/cli/main.js                 the `trisearch` CLI (local runtime: `start --no-stack` in Docker)
 *   dist/handlers/<name>/index.mjs   one Lambda-style bundle per functions/handlers/*.ts
 *   <bundle dir>/migrations/         the SQL files, beside every bundle that applies migrations
 *   <bundle dir>/inference-worker.mjs the ONNX embedder's worker thread, beside every bundle that embeds locally
 *
 * Native and optional modules stay external: `npm ci --omit=dev` provides them at run time.
 * The Dockerfile runs this same script, so the image ships exactly these artifacts.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Metafile } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The CLI bundle, relative to the repository root (the Dockerfile's CMD runs it). */
export const CLI_BUNDLE = "dist/cli/main.js";

/** Native binaries (loaded with dlopen) and pg's optional native driver cannot be bundled. */
export const EXTERNALS = ["onnxruntime-node", "chromadb-js-bindings-*", "pg-native"];

/** The source that reads migrations/ at run time: a bundle containing it needs the SQL files. */
const MIGRATE_SOURCE = "functions/adapters/postgres/migrate.ts";

/** CJS dependencies call require() on built-ins; an ESM bundle gets one from its own URL. */
const CJS_SHIM_BANNER = [
  "import { createRequire as __trisearchCreateRequire } from 'node:module';",
  "const require = __trisearchCreateRequire(import.meta.url);",
].join("");

const common: BuildOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external: EXTERNALS,
  banner: { js: CJS_SHIM_BANNER },
  metafile: true,
  logLevel: "warning",
  absWorkingDir: root,
};

interface Entry {
  source: string;
  outfile: string;
}

function entries(outRoot: string): Entry[] {
  const handlersDir = path.join(root, "functions", "handlers");
  const handlers = readdirSync(handlersDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .sort()
    .map((f) => ({
      source: path.join("functions", "handlers", f),
      outfile: path.join(outRoot, "handlers", f.replace(/\.ts$/, ""), "index.mjs"),
    }));
  const cli = path.join(outRoot, path.relative("dist", CLI_BUNDLE));
  return [{ source: path.join("cli", "main.ts"), outfile: cli }, ...handlers];
}

/** The ONNX embedder starts its worker from a file beside the running module (new URL(..., import.meta.url)). */
const ONNX_SOURCE = "functions/adapters/onnx/onnx-embedder.ts";
const ONNX_WORKER = "functions/adapters/onnx/inference-worker.mjs";

const bundles = (meta: Metafile, source: string) => Object.keys(meta.inputs).some((i) => i.endsWith(source));

export interface BuildAllOptions {
  /** Default dist/. Keep it inside the repository: the bundles resolve externals from node_modules. */
  outDir?: string;
  log?: (line: string) => void;
}

/** Builds every bundle into a fresh outDir; returns the bundle paths relative to the repository root. */
export async function buildAll(opts: BuildAllOptions = {}): Promise<string[]> {
  const outRoot = path.resolve(root, opts.outDir ?? "dist");
  const log = opts.log ?? console.log;
  rmSync(outRoot, { recursive: true, force: true });
  mkdirSync(outRoot, { recursive: true });
  // dist/ is ESM whatever package.json it is copied beside.
  writeFileSync(path.join(outRoot, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
  // esbuild runs the bundles in parallel on its own threads.
  return Promise.all(
    entries(outRoot).map(async (entry) => {
      const result = await build({ ...common, entryPoints: [entry.source], outfile: entry.outfile });
      if (result.metafile && bundles(result.metafile, MIGRATE_SOURCE)) {
        cpSync(path.join(root, "migrations"), path.join(path.dirname(entry.outfile), "migrations"), {
          recursive: true,
        });
      }
      if (result.metafile && bundles(result.metafile, ONNX_SOURCE)) {
        cpSync(
          path.join(root, ONNX_WORKER),
          path.join(path.dirname(entry.outfile), path.basename(ONNX_WORKER)),
        );
      }
      const rel = path.relative(root, entry.outfile);
      log(`built ${rel}`);
      return rel;
    }),
  );
}

// Run as a script (`tsx scripts/build.ts`), not when imported by a test.
if (
  process.argv[1] &&
  existsSync(process.argv[1]) &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
) {
  const started = Date.now();
  buildAll().then(
    (files) => console.log(`${files.length} bundles in dist/ (${Date.now() - started} ms)`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
