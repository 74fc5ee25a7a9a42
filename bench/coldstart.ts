import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadAverage, numberFlag, REPO_ROOT, round2, writeReport } from "./helpers";

/**
 * Cold start of each Lambda bundle, as far as it can be measured without AWS:
 *   npx tsx bench/coldstart.ts [--runs 7]
 *
 * Bundles every function as `npm run synth` does (CDK NodejsFunction, the local esbuild:
 * test/infra/synth-bundled.ts), then, per function and run, starts a fresh Node process that imports
 * the bundle's index.mjs (the entry resolves secrets, then evaluates the handler module: config,
 * logger, the wiring it imports) and reports the import time from inside. For the Slack webhook it
 * then invokes the handler with a signed url_verification request (Slack's 3 s budget): the first
 * request (lazy work on first use) and a second one. An empty module's import is the baseline
 * (Node's own ESM loader). Lambda's own cold start (code download, runtime bootstrap, the VPC, the
 * AWS SDK's credential chain) is not measured here.
 * Writes bench/reports/coldstart.json.
 */

const runs = numberFlag(process.argv.slice(2), "runs", 7);
const SIGNING_SECRET = "bench-signing-secret";

/** Runs inside the fresh process: `node --input-type=module -e RUNNER <index.mjs> <webhook?>`. */
const RUNNER = `
const [file, webhook] = process.argv.slice(1);
const t0 = performance.now();
const mod = await import(file);
const importMs = performance.now() - t0;
const out = { importMs, sinceProcessStartMs: performance.now() };
if (webhook === "webhook") {
  const { createHmac } = await import("node:crypto");
  const invoke = async () => {
    const body = JSON.stringify({ type: "url_verification", challenge: "bench", token: "x" });
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = "v0=" + createHmac("sha256", process.env.SLACK_SIGNING_SECRET).update("v0:" + ts + ":" + body).digest("hex");
    const event = { version: "2.0", routeKey: "POST /slack/events", rawPath: "/slack/events", rawQueryString: "",
      headers: { "content-type": "application/json", "x-slack-request-timestamp": ts, "x-slack-signature": sig },
      requestContext: { http: { method: "POST", path: "/slack/events" }, requestId: "bench" }, body, isBase64Encoded: false };
    const context = { functionName: "slack-events", functionVersion: "$LATEST", awsRequestId: "bench-" + Math.random(),
      invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:slack-events", memoryLimitInMB: "256",
      getRemainingTimeInMillis: () => 3000 };
    const t = performance.now();
    const res = await mod.handler(event, context);
    if (res.statusCode !== 200 || !String(res.body).includes("bench")) throw new Error("unexpected answer " + JSON.stringify(res));
    return performance.now() - t;
  };
  out.firstRequestMs = await invoke();
  out.secondRequestMs = await invoke();
}
process.stdout.write("\\nCOLDSTART " + JSON.stringify(out) + "\\n");
`;

interface Sample {
  importMs: number;
  sinceProcessStartMs: number;
  firstRequestMs?: number;
  secondRequestMs?: number;
}

async function sample(file: string, webhook: boolean): Promise<Sample> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--enable-source-maps", "--input-type=module", "-e", RUNNER, file, webhook ? "webhook" : ""],
    {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
      // What the function's environment holds that matters at load: quiet logs, the signing
      // secret (no ARN: nothing is fetched), the Lambda marker (the AWS-only config paths).
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "SILENT",
        POWERTOOLS_SERVICE_NAME: "trisearch",
        POWERTOOLS_METRICS_DISABLED: "true",
        AWS_LAMBDA_FUNCTION_NAME: "bench",
        AWS_REGION: "eu-west-1",
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        // Built on the first request (the SQS client, no call: url_verification is answered, not queued).
        INGEST_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/trisearch-ingest",
        EMBEDDER: "bedrock",
      },
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("COLDSTART "));
  if (!line) throw new Error(`no measurement from ${file}:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice("COLDSTART ".length)) as Sample;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stats = (xs: readonly number[]) => ({
  median: round2(median(xs)),
  min: round2(Math.min(...xs)),
  max: round2(Math.max(...xs)),
});

async function main(): Promise<void> {
  // Inside the repository, so the bundles' externals (@aws-sdk/*) resolve from its node_modules
  // as the runtime's copies do in Lambda.
  const outdir = path.join(REPO_ROOT, "cdk.out", `coldstart-${process.pid}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  try {
    console.info("bundling every function (CDK, local esbuild) ...");
    await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", path.join(REPO_ROOT, "test", "infra", "synth-bundled.ts"), outdir],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const synth = JSON.parse(readFileSync(path.join(outdir, "synth.json"), "utf8")) as {
      template: { Resources: Record<string, { Properties: { Code: { S3Key: string } } }> };
      fnIds: Record<string, string>;
    };
    const bundles = Object.entries(synth.fnIds)
      .map(([name, id]) => {
        const key = synth.template.Resources[id]!.Properties.Code.S3Key.replace(/\.zip$/, "");
        return { name, file: path.join(outdir, `asset.${key}`, "index.mjs") };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    const empty = path.join(outdir, "empty.mjs");
    writeFileSync(empty, "export const handler = () => undefined;\n");

    const loadBefore = loadAverage();
    const results: Record<string, unknown> = {};
    const baseline: Sample[] = [];
    for (let i = 0; i < runs; i++) baseline.push(await sample(empty, false));
    results["(empty module)"] = { importMs: stats(baseline.map((s) => s.importMs)) };
    for (const { name, file } of bundles) {
      const webhook = name === "slack-events";
      const samples: Sample[] = [];
      // Interleaving would be fairer under changing load; sequential keeps each process alone.
      for (let i = 0; i < runs; i++) samples.push(await sample(file, webhook));
      results[name] = {
        bundleKiB: Math.round(statSync(file).size / 1024),
        importMs: stats(samples.map((s) => s.importMs)),
        processReadyMs: stats(samples.map((s) => s.sinceProcessStartMs)),
        ...(webhook
          ? {
              firstRequestMs: stats(samples.map((s) => s.firstRequestMs!)),
              secondRequestMs: stats(samples.map((s) => s.secondRequestMs!)),
              loadAndFirstRequestMs: stats(samples.map((s) => s.importMs + s.firstRequestMs!)),
            }
          : {}),
      };
      console.info(name, JSON.stringify(results[name]));
    }
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadAverage: { before: loadBefore, after: loadAverage() },
      runsPerFunction: runs,
      what:
        "per fresh Node process: import of the CDK-built index.mjs (entry, config, logger, the handler's wiring); " +
        "the webhook also answers a signed url_verification twice. Not Lambda's own cold start.",
      results,
    };
    console.info(`wrote ${await writeReport("coldstart", report)}`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
