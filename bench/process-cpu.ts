import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time per service process, from /proc (Linux): where a benchmark's CPU goes when the
 * services share the machine. Groups: this process, the load generator, and the local stack's
 * services found by command line. Counted per process: one that exits between two snapshots adds
 * nothing (it loses only what it used since the first, an idle pooled PostgreSQL backend closing),
 * and one born between them counts from zero. (Summing per group instead, a backend that exited
 * took its whole lifetime's CPU out of the second sum: -4 ms per request in a c=1 phase.)
 */
export type CpuGroup = "server" | "client" | "chroma" | "opensearch" | "postgres" | "elasticmq";

const TICK_MS = 10; // USER_HZ is 100 on Linux.

function groupOf(cmdline: string): CpuGroup | undefined {
  if (cmdline.includes("chromadb-js-bindings")) return "chroma";
  if (cmdline.includes("org.opensearch.bootstrap")) return "opensearch";
  if (cmdline.startsWith("postgres:") || cmdline.includes("/bin/postgres ")) return "postgres";
  if (cmdline.includes("elasticmq")) return "elasticmq";
  return undefined;
}

function ticksOf(pid: string): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

export const noCpu = (): Record<CpuGroup, number> => ({
  server: 0,
  client: 0,
  chroma: 0,
  opensearch: 0,
  postgres: 0,
  elasticmq: 0,
});

/** Milliseconds of CPU used so far by each process of a group, by pid. */
export type CpuSnapshot = ReadonlyMap<number, { readonly group: CpuGroup; readonly ms: number }>;

/** Every grouped process's CPU so far (`clientPid`: the load generator's process). */
export function cpuSnapshot(clientPid: number | undefined): CpuSnapshot {
  const out = new Map<number, { group: CpuGroup; ms: number }>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const group =
        Number(pid) === process.pid
          ? "server"
          : Number(pid) === clientPid
            ? "client"
            : groupOf(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
      if (group) out.set(Number(pid), { group, ms: ticksOf(pid) * TICK_MS });
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

/** CPU milliseconds each group used between two snapshots, process by process. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<CpuGroup, number> {
  const out = noCpu();
  for (const [pid, now] of after) out[now.group] += now.ms - (before.get(pid)?.ms ?? 0);
  return out;
}

/** CPU milliseconds per request for each group between two snapshots. */
export function cpuPerRequest(
  before: Record<CpuGroup, number>,
  after: Record<CpuGroup, number>,
  requests: number,
): Record<CpuGroup | "total", number> {
  const per = (ms: number) => Math.round((ms / Math.max(1, requests)) * 10) / 10;
  const groups = Object.keys(before) as CpuGroup[];
  const result = Object.fromEntries(groups.map((g) => [g, per(after[g] - before[g])])) as Record<
    CpuGroup | "total",
    number
  >;
  result.total = per(groups.reduce((sum, g) => sum + after[g] - before[g], 0));
  return result;
}
