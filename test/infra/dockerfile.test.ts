import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/shared/config";
import { modelArtifact } from "../../local/stack/model";
import { CLI_BUNDLE } from "../../scripts/build";
import { repoRoot } from "../helpers/compose";
import { execForm, lintDockerfile, parseDockerfile, type Stage, stageEnv } from "../helpers/dockerfile-lint";

const text = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
const { stages } = parseDockerfile(text);
const final = stages[stages.length - 1] as Stage;
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
const stageNamed = (name: string) => stages.find((s) => s.name === name);

describe("Dockerfile lint", () => {
  it("passes every rule", () => {
    expect(lintDockerfile(text, { cmdMustRun: CLI_BUNDLE })).toEqual([]);
  });

  it("the lint fails a Dockerfile that breaks the rules", () => {
    const bad = [
      "FROM node:latest",
      "MAINTAINER someone",
      "WORKDIR app",
      "ADD https://example.invalid/model.onnx /model.onnx",
      "RUN cd /app && npm install && apt-get install -y curl && sudo true",
      "CMD node dist/cli/main.js start",
      "",
    ].join("\n");
    const codes = lintDockerfile(bad, { cmdMustRun: CLI_BUNDLE }).map((p) => p.split(" ")[0]);
    for (const code of [
      "TS001", // single stage
      "DL3007", // :latest
      "DL4000", // MAINTAINER
      "DL3000", // relative WORKDIR
      "DL3020", // ADD
      "DL3003", // cd
      "DL3016", // npm install
      "DL3015", // apt-get without --no-install-recommends
      "DL3004", // sudo
      "DL3025", // shell-form CMD
      "DL3002", // root
      "TS004", // no npm ci --omit=dev
      "TS006", // no HEALTHCHECK
      "TS007", // CMD does not run the bundle
    ]) {
      expect(codes, code).toContain(code);
    }
    expect(lintDockerfile("FROM node\nUSER root\n").map((p) => p.split(" ")[0])).toEqual(
      expect.arrayContaining(["DL3006", "DL3002"]),
    );
  });

  it("is multi-stage: model, build, runtime", () => {
    expect(stages.map((s) => s.name)).toEqual(["model", "build", "runtime"]);
  });

  it("the build stage installs every dependency from the lock file and runs `npm run build`", () => {
    const build = runs(stageNamed("build") as Stage);
    expect(build.some((r) => /^npm ci\b/.test(r) && !r.includes("--omit"))).toBe(true);
    expect(build).toContain("npm run build");
  });

  it("the final stage installs production dependencies only and copies dist/ and the model", () => {
    expect(runs(final).some((r) => /^npm ci --omit=dev\b/.test(r))).toBe(true);
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args);
    expect(copies).toContain("--from=build /app/dist ./dist");
    expect(copies.some((c) => c.startsWith("--from=model "))).toBe(true);
  });

  it("runs the bundled CLI's `start --no-stack` as a non-root user", () => {
    const cmd = execForm(final.instructions.filter((i) => i.keyword === "CMD").pop()?.args ?? "");
    expect(cmd).toEqual(["node", "--enable-source-maps", CLI_BUNDLE, "start", "--no-stack"]);
    const user = final.instructions.filter((i) => i.keyword === "USER").pop()?.args;
    expect(user).toBe("node");
    // USER comes after the last RUN: nothing at run time has root's rights.
    const lastRun = Math.max(...final.instructions.filter((i) => i.keyword === "RUN").map((i) => i.line));
    const userLine = final.instructions.filter((i) => i.keyword === "USER").pop()?.line ?? 0;
    expect(userLine).toBeGreaterThan(lastRun);
  });

  it("fetches the same embedding model as the no-Docker stack into ONNX_MODEL_DIR", () => {
    const model = stageNamed("model") as Stage;
    const arg = model.instructions.find((i) => i.keyword === "ARG" && i.args.startsWith("MODEL_ARTIFACT="));
    expect(arg?.args).toBe(`MODEL_ARTIFACT=${modelArtifact().artifact}`);
    const fetch = runs(model).join(" ");
    expect(fetch).toContain("mvn -q -B dependency:copy");
    // The jar's entries local/stack/model.ts extracts, renamed to what the ONNX embedder loads,
    // and the settings file it writes beside them (pooling, query instruction, length).
    const { onnx, tokenizer, settings } = modelArtifact();
    const env = stageEnv(final);
    expect(fetch).toContain(`${onnx} ${env.ONNX_MODEL_DIR}/model.onnx`);
    expect(fetch).toContain(`${tokenizer} ${env.ONNX_MODEL_DIR}/tokenizer.json`);
    const written = /printf '%s\\n' '([^']*)' > (\S+)/.exec(fetch);
    expect(written?.[2]).toBe(`${env.ONNX_MODEL_DIR}/trisearch-model.json`);
    expect(JSON.parse(written?.[1] ?? "null")).toEqual(settings);
    // ...and the runtime stage copies that directory in.
    const copy = final.instructions.find((i) => i.keyword === "COPY" && i.args.startsWith("--from=model "));
    const dest = copy?.args.split(/\s+/).pop() ?? "?";
    expect(env.ONNX_MODEL_DIR?.startsWith(`${dest}/`)).toBe(true);
  });

  it("configures the runtime with the config's variable names", () => {
    const env = stageEnv(final);
    const known = Object.keys(loadConfig({}));
    for (const name of Object.keys(env).filter(
      (n) => !["NODE_ENV", "ONNXRUNTIME_NODE_INSTALL"].includes(n),
    )) {
      expect(known, name).toContain(name);
    }
    const cfg = loadConfig(env);
    expect(cfg.EMBEDDER).toBe("onnx");
    expect(cfg.API_HOST).toBe("0.0.0.0");
    const expose = final.instructions.find((i) => i.keyword === "EXPOSE")?.args;
    expect(Number(expose)).toBe(cfg.API_PORT);
  });

  it("the health check asks the API on API_PORT", () => {
    const hc = final.instructions.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "";
    const argv = execForm(hc.slice(hc.indexOf("CMD") + 3).trim());
    expect(argv?.[0]).toBe("node");
    expect(argv?.join(" ")).toContain("/search?q=");
  });

  it(".dockerignore keeps local state and generated files out of the build context", () => {
    const ignored = readFileSync(path.join(repoRoot, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    for (const entry of ["node_modules", "dist", ".cache", ".git"]) expect(ignored).toContain(entry);
  });
});
