import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const composeFile = path.join(repoRoot, "docker-compose.yml");

/** A compose implementation that can render a file without a Docker engine. */
export interface ComposeTool {
  name: string;
  /** argv prefix, e.g. ["docker", "compose"] or ["docker-compose"]. */
  argv: string[];
  /** Renders the validated, normalized file as JSON. */
  config(file: string): { ok: true; json: ComposeModel } | { ok: false; output: string };
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | null> | string[];
  ports?: (string | { target: number | string; published?: number | string; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean; interval?: string; retries?: number };
  platform?: string;
  [key: string]: unknown;
}

export interface ComposeModel {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const INSTALL_HINT =
  "no compose implementation found: install Debian's docker-compose (apt-get install -y --no-install-recommends " +
  "docker-compose; .ci/run does) or the docker compose plugin";

function run(argv: string[], cwd: string, input?: string) {
  const [cmd, ...args] = argv;
  const res = spawnSync(cmd ?? "", args, { cwd, encoding: "utf8", input, timeout: 60_000 });
  return { status: res.status ?? -1, stdout: res.stdout ?? "", stderr: res.stderr ?? "", error: res.error };
}

const works = (argv: string[]) => run([...argv, "version"], repoRoot).status === 0;

/** YAML -> JSON through python3-yaml, a dependency of Debian's docker-compose (no YAML parser in node_modules). */
function yamlToJson(yaml: string): ComposeModel {
  const res = run(
    ["python3", "-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
    repoRoot,
    yaml,
  );
  if (res.status !== 0)
    throw new Error(`python3 yaml could not parse compose output: ${res.stderr || res.error}`);
  return JSON.parse(res.stdout) as ComposeModel;
}

/**
 * The compose implementation on this machine: the docker CLI plugin (renders JSON itself) or
 * Debian's docker-compose 1.29 (renders YAML). Throws with an install hint when there is none,
 * so a test using it fails instead of skipping.
 */
export function composeTool(): ComposeTool {
  if (works(["docker", "compose"])) {
    return {
      name: "docker compose",
      argv: ["docker", "compose"],
      config(file) {
        const res = run(["docker", "compose", "-f", file, "config", "--format", "json"], path.dirname(file));
        return res.status === 0
          ? { ok: true, json: JSON.parse(res.stdout) as ComposeModel }
          : { ok: false, output: `${res.stdout}\n${res.stderr}` };
      },
    };
  }
  if (works(["docker-compose"])) {
    return {
      name: "docker-compose",
      argv: ["docker-compose"],
      config(file) {
        const res = run(["docker-compose", "-f", file, "config"], path.dirname(file));
        return res.status === 0
          ? { ok: true, json: yamlToJson(res.stdout) }
          : { ok: false, output: `${res.stdout}\n${res.stderr}` };
      },
    };
  }
  throw new Error(INSTALL_HINT);
}

export interface PublishedPort {
  hostIp: string | undefined;
  published: number;
  target: number;
}

/** Ports in either rendering: "127.0.0.1:5432:5432/tcp" (1.29) or {published, target} (v2). */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === "string") {
      const parts = p.replace(/\/\w+$/, "").split(":");
      const target = Number(parts.pop());
      const published = Number(parts.pop() ?? target);
      return { hostIp: parts.pop(), published, target };
    }
    return { hostIp: p.host_ip, published: Number(p.published ?? p.target), target: Number(p.target) };
  });
}

export interface Mount {
  type: "volume" | "bind";
  source: string;
  target: string;
}

/** Mounts in either rendering: "name:/path:rw" (1.29) or {type, source, target} (v2). */
export function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === "string") {
      const [source = "", target = ""] = v.split(":");
      return { type: source.startsWith("/") || source.startsWith(".") ? "bind" : "volume", source, target };
    }
    return { type: v.type === "bind" ? "bind" : "volume", source: v.source ?? "", target: v.target ?? "" };
  });
}

export function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((kv) => {
        const i = kv.indexOf("=");
        return i < 0 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? ""]));
}

export function dependsOn(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]));
}

/** The healthcheck as argv: CMD form as is, CMD-SHELL (or a plain string) through sh -c. */
export function healthcheckArgv(service: ComposeService): string[] | undefined {
  const test = service.healthcheck?.test;
  if (!test || service.healthcheck?.disable) return undefined;
  if (typeof test === "string") return ["sh", "-c", test];
  const [kind, ...rest] = test;
  if (kind === "CMD") return rest;
  if (kind === "CMD-SHELL") return ["sh", "-c", rest.join(" ")];
  return undefined;
}
