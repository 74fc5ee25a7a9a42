import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/shared/config";
import {
  type ComposeModel,
  type ComposeService,
  composeFile,
  composeTool,
  dependsOn,
  environment,
  healthcheckArgv,
  mounts,
  publishedPorts,
  repoRoot,
} from "../helpers/compose";
import { parseDockerfile, stageEnv } from "../helpers/dockerfile-lint";

/** The no-Docker stack's endpoints (config defaults = README configuration table). */
const defaults = loadConfig({});
const portOf = (url: string) => Number(new URL(url).port);

/** Service -> the config variable the app reaches it through, and the port both stacks use. */
const BACKENDS = {
  postgres: { variable: "DATABASE_URL", port: portOf(defaults.DATABASE_URL) },
  opensearch: { variable: "OPENSEARCH_URL", port: portOf(defaults.OPENSEARCH_URL) },
  elasticmq: { variable: "SQS_ENDPOINT", port: portOf(defaults.SQS_ENDPOINT ?? "") },
  chroma: { variable: "CHROMA_URL", port: portOf(defaults.CHROMA_URL) },
} as const;

let model: ComposeModel;
const service = (name: string): ComposeService => {
  const s = model.services[name];
  if (!s) throw new Error(`docker-compose.yml defines no "${name}" service`);
  return s;
};

describe("docker-compose.yml (rendered by a real compose implementation)", () => {
  beforeAll(() => {
    // Throws (fails every test) when no compose implementation is installed: never a silent skip.
    const tool = composeTool();
    const rendered = tool.config(composeFile);
    if (!rendered.ok) throw new Error(`${tool.name} config rejected docker-compose.yml:\n${rendered.output}`);
    model = rendered.json;
  });

  it("the validator is real: it rejects a broken file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trisearch-compose-"));
    try {
      const broken = path.join(dir, "docker-compose.yml");
      writeFileSync(
        broken,
        [
          "services:",
          "  app:",
          "    image: busybox:1.36",
          "    depends_on:",
          "      db:",
          "        condition: service_healthy",
          "    healthcheck:",
          "      interval: not-a-duration",
          "",
        ].join("\n"),
      );
      const res = composeTool().config(broken);
      expect(res.ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("defines every service the runtime needs", () => {
    expect(Object.keys(model.services).sort()).toEqual([
      "app",
      "chroma",
      "elasticmq",
      "opensearch",
      "postgres",
    ]);
  });

  it.each(Object.keys(BACKENDS).concat("app"))("%s has a health check", (name) => {
    const argv = healthcheckArgv(service(name));
    expect(argv, `${name}: healthcheck.test`).toBeDefined();
    expect(argv?.join(" ").length).toBeGreaterThan(10);
    expect(service(name).healthcheck?.retries ?? 0).toBeGreaterThanOrEqual(5);
  });

  it.each(Object.entries(BACKENDS))("%s publishes the no-Docker stack's port", (name, { port }) => {
    const ports = publishedPorts(service(name));
    expect(ports).toContainEqual({ hostIp: "127.0.0.1", published: port, target: port });
  });

  it("app publishes API_PORT and waits for every backend to be healthy", () => {
    const app = service("app");
    expect(publishedPorts(app)).toContainEqual({
      hostIp: "127.0.0.1",
      published: defaults.API_PORT,
      target: defaults.API_PORT,
    });
    expect(dependsOn(app)).toEqual(
      Object.fromEntries(Object.keys(BACKENDS).map((name) => [name, "service_healthy"])),
    );
  });

  it("app is built from this repository's Dockerfile", () => {
    const build = service("app").build;
    const context = typeof build === "string" ? build : build?.context;
    expect(context && path.resolve(repoRoot, context)).toBe(path.resolve(repoRoot));
    const dockerfile = typeof build === "object" && build.dockerfile ? build.dockerfile : "Dockerfile";
    expect(existsSync(path.resolve(repoRoot, dockerfile))).toBe(true);
  });

  it("app's environment uses the config's variable names and reaches each service on its port", () => {
    const env = environment(service("app"));
    // Only names the config schema knows (a typo would silently fall back to a default).
    for (const name of Object.keys(env)) expect(Object.keys(defaults), name).toContain(name);
    const cfg = loadConfig(env);
    for (const [name, { variable, port }] of Object.entries(BACKENDS)) {
      const url = new URL(String(cfg[variable]));
      expect(url.hostname, variable).toBe(name);
      expect(Number(url.port), variable).toBe(port);
    }
    expect(cfg.EMBEDDER).toBe("onnx");
    expect(cfg.API_PORT).toBe(defaults.API_PORT);
    // Published ports only reach a server bound to all interfaces.
    expect(cfg.API_HOST).toBe("0.0.0.0");
    expect(new URL(cfg.DATABASE_URL).pathname).toBe(new URL(defaults.DATABASE_URL).pathname);
  });

  it("app's ONNX_MODEL_DIR is where the Dockerfile puts the model", () => {
    const { stages } = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
    const runtimeEnv = stageEnv(stages[stages.length - 1]!);
    expect(environment(service("app")).ONNX_MODEL_DIR).toBe(runtimeEnv.ONNX_MODEL_DIR);
  });

  it("postgres creates the database DATABASE_URL names, with trust auth like the no-Docker stack", () => {
    const env = environment(service("postgres"));
    expect(env.POSTGRES_DB).toBe(new URL(defaults.DATABASE_URL).pathname.slice(1));
    expect(env.POSTGRES_USER).toBe(new URL(defaults.DATABASE_URL).username);
    expect(env.POSTGRES_HOST_AUTH_METHOD).toBe("trust");
    expect(service("postgres").image).toMatch(/^postgres:16(\.|$|-)/);
  });

  it("opensearch 2.19 runs as one node without the security plugin and with a small heap", () => {
    const os = service("opensearch");
    expect(os.image).toMatch(/^opensearchproject\/opensearch:2\.19\.\d+$/);
    const env = environment(os);
    expect(env["discovery.type"]).toBe("single-node");
    expect(env.DISABLE_SECURITY_PLUGIN).toBe("true");
    expect(env.DISABLE_INSTALL_DEMO_CONFIG).toBe("true");
    const heap = /-Xmx(\d+)([mg])/.exec(env.OPENSEARCH_JAVA_OPTS ?? "");
    expect(heap, "OPENSEARCH_JAVA_OPTS sets -Xmx").not.toBeNull();
    const mb = Number(heap?.[1]) * (heap?.[2] === "g" ? 1024 : 1);
    expect(mb).toBeLessThanOrEqual(1024);
  });

  it("elasticmq loads the queue config from this repository", () => {
    const conf = mounts(service("elasticmq")).find((m) => m.target === "/opt/elasticmq.conf");
    expect(conf?.type).toBe("bind");
    expect(conf && path.resolve(repoRoot, conf.source)).toBe(path.join(repoRoot, "docker", "elasticmq.conf"));
  });

  it("chroma is 1.x and its health check asks the v2 heartbeat", () => {
    expect(service("chroma").image).toMatch(/^chromadb\/chroma:1\.\d+\.\d+$/);
    expect(healthcheckArgv(service("chroma"))?.join(" ")).toContain("/api/v2/heartbeat");
  });

  it("stateful services keep their data in named volumes", () => {
    const named = Object.keys(model.volumes ?? {});
    for (const [name, target] of [
      ["postgres", "/var/lib/postgresql/data"],
      ["opensearch", "/usr/share/opensearch/data"],
      ["chroma", "/data"],
    ] as const) {
      const m = mounts(service(name)).find((v) => v.target === target);
      expect(m?.type, `${name} ${target}`).toBe("volume");
      expect(named).toContain(m?.source);
    }
  });

  it("pins every pulled image to a version", () => {
    const pulled = Object.entries(model.services).filter(([, s]) => !s.build);
    expect(pulled.length).toBe(4);
    for (const [name, s] of pulled) expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
  });
});
