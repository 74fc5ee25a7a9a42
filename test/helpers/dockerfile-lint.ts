/**
 * A small Dockerfile parser and the lint rules the project holds its image to (hadolint is not
 * in the registries this project can install from, so the rules we rely on are checked here,
 * with hadolint's codes where one exists).
 */

interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  index: number;
  /** Line of its FROM. */
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM (usable in FROM lines). */
  globalArgs: Instruction[];
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let pending: { keyword: string; parts: string[]; line: number } | undefined;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comments (and parser directives) are skipped, also inside a continued instruction.
    if (trimmed.startsWith("#")) return;
    if (!pending && trimmed === "") return;
    const continues = /\\$/.test(trimmed);
    const body = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (!pending) {
      const m = /^(\S+)\s*(.*)$/.exec(body);
      pending = { keyword: (m?.[1] ?? "").toUpperCase(), parts: [m?.[2] ?? ""], line: i + 1 };
    } else if (body !== "") {
      pending.parts.push(body);
    }
    if (!continues) {
      instructions.push({
        keyword: pending.keyword,
        args: pending.parts.join(" ").trim(),
        line: pending.line,
      });
      pending = undefined;
    }
  });
  if (pending)
    instructions.push({ keyword: pending.keyword, args: pending.parts.join(" ").trim(), line: pending.line });

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const asAt = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        image: words[0] ?? "",
        name: asAt >= 0 ? words[asAt + 1] : undefined,
        index: stages.length,
        line: ins.line,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword === "ARG") globalArgs.push(ins);
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Exec form (JSON array) of CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === "string")
      ? (parsed as string[])
      : undefined;
  } catch {
    return undefined;
  }
}

/** ENV instructions of a stage as a map (both `K=V ...` and legacy `K V` forms). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === "ENV")) {
    if (!ins.args.includes("=")) {
      const [k = "", ...v] = ins.args.split(/\s+/);
      env[k] = v.join(" ");
      continue;
    }
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
      env[m[1] ?? ""] = m[3] ?? m[2] ?? "";
    }
  }
  return env;
}

const isRootUser = (user: string) => /^(root|0)(:.*)?$/.test(user.trim());

/**
 * Every rule broken, as "<code> line <n>: <why>"; empty when the file passes. `opts.cmdMustRun`
 * is the artifact the final stage's CMD must start (the build's CLI bundle).
 */
export function lintDockerfile(text: string, opts: { cmdMustRun?: string } = {}): string[] {
  const problems: string[] = [];
  const { globalArgs, stages } = parseDockerfile(text);
  const say = (code: string, line: number, why: string) => problems.push(`${code} line ${line}: ${why}`);
  if (stages.length === 0) return ["DL3061: no FROM instruction"];
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
  const argDefaults = Object.fromEntries(
    globalArgs.map((a) => {
      const [k = "", v = ""] = a.args.split("=");
      return [k.trim(), v.trim()];
    }),
  );

  // Multi-stage: the toolchain (dev dependencies, esbuild) never reaches the runtime image.
  if (stages.length < 2) say("TS001", 1, "single-stage build: use a build stage and a runtime stage");

  for (const stage of stages) {
    const image = stage.image.replace(/\$\{?(\w+)\}?/g, (_, k: string) => argDefaults[k] ?? "");
    if (!stageNames.has(stage.image)) {
      const [, tag] = /^[^@]+?(?::([^:/@]+))?(@sha256:[0-9a-f]+)?$/.exec(image) ?? [];
      const digest = image.includes("@sha256:");
      if (!tag && !digest) say("DL3006", stage.line, `image "${stage.image}" has no tag`);
      else if (tag === "latest") say("DL3007", stage.line, `image "${stage.image}" uses :latest`);
      else if (tag && !digest && !/\d/.test(tag))
        say("TS002", stage.line, `image "${stage.image}" tag has no version`);
    }
    let cmds = 0;
    for (const ins of stage.instructions) {
      const { keyword: k, args, line } = ins;
      if (k === "MAINTAINER") say("DL4000", line, "MAINTAINER is deprecated");
      if (k === "ADD") say("DL3020", line, "use COPY (ADD fetches URLs and unpacks archives implicitly)");
      if (k === "WORKDIR" && !/^(\/|\$)/.test(args)) say("DL3000", line, "WORKDIR must be absolute");
      if (k === "CMD" || k === "ENTRYPOINT") {
        if (!execForm(args)) say("DL3025", line, `${k} must use the exec (JSON) form so signals reach node`);
        if (k === "CMD") cmds++;
      }
      if (k === "RUN") {
        const commands = args.split(/&&|\|\||;/).map((c) => c.trim());
        for (const c of commands) {
          if (/^sudo\b/.test(c)) say("DL3004", line, "do not use sudo");
          if (/^cd\s/.test(c)) say("DL3003", line, "use WORKDIR to change directory");
          if (/^apt-get\s+(dist-)?upgrade\b/.test(c)) say("DL3005", line, "do not apt-get upgrade");
          if (/^apt-get\s+install\b/.test(c) && !c.includes("--no-install-recommends"))
            say("DL3015", line, "apt-get install without --no-install-recommends");
          if (/^npm\s+(install|i)\b/.test(c))
            say("DL3016", line, "npm install: use npm ci with the lock file");
          if (/^(curl|wget)\b/.test(c)) say("TS003", line, "downloads outside the package registries");
        }
      }
    }
    if (cmds > 1) say("DL4003", 1, `stage ${stage.index} has ${cmds} CMD instructions`);
  }

  const final = stages[stages.length - 1];
  if (!final) return problems;
  const at = final.instructions;
  const users = at.filter((i) => i.keyword === "USER");
  const lastUser = users[users.length - 1];
  if (!lastUser || isRootUser(lastUser.args))
    say("DL3002", lastUser?.line ?? 1, "the final stage must run as a non-root USER");
  const runs = at.filter((i) => i.keyword === "RUN");
  if (!runs.some((r) => /\bnpm\s+ci\b[^&|;]*--omit=dev\b/.test(r.args)))
    say("TS004", 1, "the final stage must install production dependencies with `npm ci --omit=dev`");
  if (!at.some((i) => i.keyword === "COPY" && /--from=/.test(i.args)))
    say("TS005", 1, "the final stage copies no artifacts from a build stage");
  if (!at.some((i) => i.keyword === "HEALTHCHECK"))
    say(
      "TS006",
      1,
      "the final stage has no HEALTHCHECK (compose also defines one, but `docker run` should too)",
    );
  const cmd = at.filter((i) => i.keyword === "CMD").pop();
  if (!cmd) say("TS007", 1, "the final stage has no CMD");
  else if (opts.cmdMustRun && !(execForm(cmd.args) ?? []).includes(opts.cmdMustRun))
    say("TS007", cmd.line, `CMD does not run ${opts.cmdMustRun}`);
  return problems;
}
