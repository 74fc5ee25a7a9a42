import { spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  writeSync,
} from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { config } from "../../functions/shared/config";

/** A stack step that cannot go on; the message names the missing piece (tool, file, port). */
export class StackError extends Error {
  override readonly name = "StackError";
}

/** Repository root: two levels above local/stack/, so the stack works from any cwd. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Absolute cache dir (downloads, unpacked services, data, logs, state). */
function cacheDir(): string {
  return path.resolve(repoRoot, config().CACHE_DIR);
}

export function cachePath(...parts: string[]): string {
  return path.join(cacheDir(), ...parts);
}

export function logFile(service: string): string {
  const dir = cachePath("logs");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${service}.log`);
}

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Finds an executable on PATH (no shell, so no `which` dependency). */
function which(cmd: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Throws "<cmd> not found" with a hint, so a missing tool is named instead of an ENOENT. */
export function requireTool(cmd: string, hint: string): string {
  const found = which(cmd);
  if (!found) throw new StackError(`${cmd} not found on PATH (${hint})`);
  return found;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its output tail on a non-zero exit or timeout. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; what?: string } = {},
): Promise<RunResult> {
  const what = opts.what ?? `${cmd} ${args.join(" ")}`;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new StackError(`${what}: timed out after ${(opts.timeoutMs ?? 600_000) / 1000}s`));
    }, opts.timeoutMs ?? 600_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new StackError(`${what}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const out = tailText(`${stdout}\n${stderr}`, 30);
      reject(new StackError(`${what} failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

/**
 * Starts a long-running service detached from this process (own process group, output to
 * its log file) so it outlives the CLI and later runs reuse it.
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string },
): number {
  const fd = openSync(opts.log, "a");
  // A header per start, so a log tail shows which attempt it belongs to.
  writeSync(fd, `\n=== ${new Date().toISOString()} starting ${cmd} ${args.join(" ")}\n`);
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    if (child.pid === undefined) throw new StackError(`could not start ${cmd} (see ${opts.log})`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function tailText(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function tailFile(file: string, lines = 25): string {
  try {
    return tailText(readFileSync(file, "utf8"), lines);
  } catch {
    return "(no log)";
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but owned by another user (e.g. OpenSearch as trisearch-os when we are not root).
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `check` until it yields a value. Fails early if the started process died, and on
 * timeout, with the tail of the service log either way (never hangs).
 */
export async function waitFor<T>(
  service: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; pid?: number; log?: string; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const logTail = opts.log ? `\n--- tail of ${opts.log} ---\n${tailFile(opts.log)}` : "";
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new StackError(`${service} exited during startup${lastError ? ` (${lastError})` : ""}${logTail}`);
    }
    if (Date.now() > deadline) {
      throw new StackError(
        `${service} not healthy after ${opts.timeoutMs / 1000}s${lastError ? ` (last error: ${lastError})` : ""}${logTail}`,
      );
    }
    await sleep(opts.intervalMs ?? 500);
  }
}

/** GET a JSON document with a short timeout; undefined when the port is closed or not OK. */
export async function getJson<T>(url: string, timeoutMs = 3000): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after a grace period. Returns true when the process is gone. */
export async function stopPid(pid: number, graceMs = 20_000): Promise<boolean> {
  if (!isAlive(pid)) return true;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return !isAlive(pid);
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(250);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
  await sleep(500);
  return !isAlive(pid);
}

/** What `stack up` started, so `stack down` stops only that. */
export interface StartedService {
  pid: number;
  /** Extra pids to stop after the main one (e.g. the `su` wrapper around OpenSearch). */
  wrapperPids?: number[];
  /** A command that stops it when a signal is the wrong tool (Postgres: pg_ctlcluster stop). */
  stopCommand?: string[];
  startedAt: string;
  log: string;
}

export type StackState = Record<string, StartedService>;

function statePath(): string {
  return cachePath("stack-state.json");
}

export async function readState(): Promise<StackState> {
  try {
    return JSON.parse(await readFile(statePath(), "utf8")) as StackState;
  } catch {
    return {};
  }
}

export async function writeState(state: StackState): Promise<void> {
  mkdirSync(cacheDir(), { recursive: true });
  await writeFile(statePath(), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * A cross-process lock (several engineers' test runs may call `stack up` at once): mkdir is
 * atomic; a lock whose holder died is taken over.
 */
export async function withLock<T>(fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  mkdirSync(cacheDir(), { recursive: true });
  const dir = cachePath("stack.lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      await writeFile(path.join(dir, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(await readFile(path.join(dir, "pid"), "utf8").catch(() => "0"));
      if (holder > 0 && !isAlive(holder)) {
        // stale lock from a crashed run
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`another "stack up" (pid ${holder}) holds ${dir}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One row of the `stack` table. */
export interface ServiceRow {
  service: string;
  url: string;
  state: "running" | "stopped" | "ready" | "missing" | "failed";
  version: string;
  startedByUs: boolean;
  detail?: string;
}

/** A local service the stack can probe, provision and start. */
export interface StackService {
  name: string;
  url: string;
  /** The version when the service answers healthily on its port, else undefined. */
  probe(): Promise<string | undefined>;
  /** Downloads/unpacks what start needs; a no-op when the files exist. */
  provision(log: (line: string) => void): Promise<void>;
  /** Starts it detached and waits until healthy. */
  start(log: (line: string) => void): Promise<{ started: StartedService; version: string }>;
  /** Runs once it is healthy, ours or reused (database, queues). */
  ready?(log: (line: string) => void): Promise<void>;
}

/** Port of a URL, with the protocol default. */
export function urlPort(url: string): number {
  const u = new URL(url);
  return Number(u.port || (u.protocol === "https:" ? 443 : 80));
}

const JDK_HINT = "install a JDK 17: apt-get install openjdk-17-jdk-headless";

/** JAVA_HOME of the `java` on PATH (the OpenSearch zip has no bundled JDK). */
export function javaHome(): string {
  const java = requireTool("java", JDK_HINT);
  return path.dirname(path.dirname(realpathSync(java)));
}

/** Runs Maven quietly in batch mode; Maven Central is the one artifact source we reach. */
export async function mvn(args: string[], what: string, cwd?: string): Promise<void> {
  const tool = requireTool("mvn", "install Maven: apt-get install maven");
  requireTool("java", JDK_HINT);
  await run(tool, ["-q", "-B", ...args], { cwd: cwd ?? repoRoot, timeoutMs: 15 * 60_000, what });
}

/** Copies one artifact (groupId:artifactId:version[:type]) into a directory. */
export async function mvnCopy(artifact: string, outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await mvn(
    ["dependency:copy", `-Dartifact=${artifact}`, `-DoutputDirectory=${outDir}`],
    `mvn dependency:copy ${artifact}`,
  );
}

/** Runs a health wait; if it fails, stops what was just started so no half-up service lingers. */
export async function orStop<T>(
  pids: () => Promise<number[]> | number[],
  wait: () => Promise<T>,
): Promise<T> {
  try {
    return await wait();
  } catch (err) {
    for (const pid of await pids()) if (pid > 0) await stopPid(pid, 10_000);
    throw err;
  }
}
