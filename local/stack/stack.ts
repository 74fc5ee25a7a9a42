import { config } from "../../functions/shared/config";
import { chroma } from "./chroma";
import { elasticmq } from "./elasticmq";
import { ensureModel, modelReady, modelRow } from "./model";
import { opensearch } from "./opensearch";
import { opensearchKnn } from "./opensearch-knn";
import { postgres } from "./postgres";
import {
  isAlive,
  readState,
  run,
  type ServiceRow,
  StackError,
  type StackService,
  type StackState,
  stopPid,
  withLock,
  writeState,
} from "./process";

export { type ServiceRow, StackError } from "./process";
export { ensureQueues } from "./queues";

/** Start order matters only for logs; starts and health waits run in parallel. */
const baseServices: StackService[] = [postgres, opensearch, elasticmq, chroma];

export interface StackOptions {
  /** Progress lines (provisioning, starting); silent by default. */
  log?: (line: string) => void;
  /**
   * Also the k-NN node (OpenSearch 2.19.1 + k-NN, opensearch-knn.ts): when asked, and always when
   * VECTOR_STORE=opensearch. Off by default so `npm start` starts one OpenSearch, not two.
   */
  knn?: boolean;
}

function servicesFor(opts: { knn?: boolean }): StackService[] {
  const knn = opts.knn === true || config().VECTOR_STORE === "opensearch";
  return knn ? [...baseServices, opensearchKnn] : baseServices;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Entries whose process has gone are dropped: nothing of ours runs there any more. */
function liveState(state: StackState): StackState {
  return Object.fromEntries(Object.entries(state).filter(([, s]) => s.pid > 0 && isAlive(s.pid)));
}

/** Probes every service without starting anything. */
export async function status(): Promise<ServiceRow[]> {
  const state = liveState(await readState());
  // The k-NN node is listed whenever it runs (or the config uses it).
  const services = servicesFor({ knn: Boolean(state[opensearchKnn.name]) });
  const rows = await Promise.all(
    services.map(async (s): Promise<ServiceRow> => {
      const version = await s.probe();
      return {
        service: s.name,
        url: s.url,
        state: version ? "running" : "stopped",
        version: version ?? "-",
        startedByUs: Boolean(version && state[s.name]),
      };
    }),
  );
  return [...rows, modelRow()];
}

/**
 * Brings every service up: a healthy one is reused, a missing one is provisioned, started
 * detached and waited for. Throws a StackError naming each service that could not start.
 */
export async function up(opts: StackOptions = {}): Promise<ServiceRow[]> {
  const log = opts.log ?? (() => undefined);
  const services = servicesFor(opts);
  const versions = new Map<string, string>();
  const failures: string[] = [];

  const probes = await Promise.all(services.map((s) => s.probe()));
  services.forEach((s, i) => {
    const v = probes[i];
    if (v) versions.set(s.name, v);
  });
  const missing = services.filter((s) => !versions.has(s.name));

  if (missing.length > 0 || !modelReady()) {
    await withLock(async () => {
      const state = liveState(await readState());
      // Another run may have started some while we waited for the lock.
      const toStart: StackService[] = [];
      for (const s of missing) {
        const v = await s.probe();
        if (v) versions.set(s.name, v);
        else toStart.push(s);
      }
      // Provision one at a time: concurrent Maven runs contend on ~/.m2.
      const provisioned: StackService[] = [];
      for (const s of toStart) {
        try {
          await s.provision(log);
          provisioned.push(s);
        } catch (err) {
          failures.push(`${s.name}: ${message(err)}`);
        }
      }
      try {
        await ensureModel(log);
      } catch (err) {
        failures.push(`embedding-model: ${message(err)}`);
      }
      const results = await Promise.allSettled(provisioned.map((s) => s.start(log)));
      results.forEach((r, i) => {
        const s = provisioned[i]!;
        if (r.status === "fulfilled") {
          versions.set(s.name, r.value.version);
          state[s.name] = r.value.started;
        } else {
          failures.push(`${s.name}: ${message(r.reason)}`);
        }
      });
      await writeState(state);
    });
  }

  for (const s of services) {
    if (!versions.has(s.name) || !s.ready) continue;
    try {
      await s.ready(log);
    } catch (err) {
      failures.push(`${s.name}: ${message(err)}`);
    }
  }
  if (failures.length > 0) {
    throw new StackError(`stack up failed:\n- ${failures.join("\n- ")}`);
  }
  const state = liveState(await readState());
  return [
    ...services.map(
      (s): ServiceRow => ({
        service: s.name,
        url: s.url,
        state: "running",
        version: versions.get(s.name) ?? "-",
        startedByUs: Boolean(state[s.name]),
      }),
    ),
    modelRow(),
  ];
}

/** Stops only what `stack up` started (recorded pids); reused services are left alone. */
export async function down(opts: StackOptions = {}): Promise<string[]> {
  const log = opts.log ?? (() => undefined);
  return withLock(async () => {
    const state = await readState();
    const stopped: string[] = [];
    const failures: string[] = [];
    for (const [name, started] of Object.entries(state)) {
      try {
        if (started.stopCommand) {
          const [cmd, ...args] = started.stopCommand;
          if (cmd && started.pid > 0 && isAlive(started.pid)) await run(cmd, args, { timeoutMs: 120_000 });
        } else if (!(await stopPid(started.pid, 30_000))) {
          throw new StackError(`pid ${started.pid} survived SIGKILL`);
        }
        for (const pid of started.wrapperPids ?? []) await stopPid(pid, 10_000);
        log(`${name}: stopped`);
        stopped.push(name);
        delete state[name];
      } catch (err) {
        failures.push(`${name}: ${message(err)}`);
      }
    }
    await writeState(state);
    if (failures.length > 0) throw new StackError(`stack down failed:\n- ${failures.join("\n- ")}`);
    return stopped;
  });
}

/** The table `stack up|status` prints. */
export function formatTable(rows: ServiceRow[]): string {
  const header = ["SERVICE", "URL", "STATE", "VERSION", "STARTED-BY-US"];
  const body = rows.map((r) => [r.service, r.url, r.state, r.version, r.startedByUs ? "yes" : "no"]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  return [header, ...body]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
