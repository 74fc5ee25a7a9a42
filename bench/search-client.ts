/**
 * The search benchmark's load generator, forked by bench/search.ts into its own process so the
 * server process only serves (as a deployed API would) and the clients' fetch/JSON work does not
 * compete with the handlers for one event loop. Protocol (IPC): the parent sends
 * { id, urls, concurrency }; this process answers { id, samples } after a closed loop of
 * `concurrency` clients has sent every url once.
 */
import { Agent, request } from "node:http";

export interface Sample {
  /** Position of the url in the job's list. */
  readonly index?: number;
  readonly ms: number;
  readonly status: number;
  readonly tookMs?: number;
  readonly results: number;
  readonly degraded: boolean;
  /** Modifiers in q the search reported as not applied (`not_applied`: unknown channel, bad date). */
  readonly notApplied?: number;
  readonly error?: string;
}

export interface ClientJob {
  readonly id: number;
  readonly urls: readonly string[];
  readonly concurrency: number;
}

export interface ClientResult {
  readonly id: number;
  readonly samples: Sample[];
}

/**
 * node:http with keep-alive rather than fetch: Node 20's fetch costs ~1.5 ms of CPU per request,
 * which on a 2-core machine is taken from the services under test.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function timedGet(url: string): Promise<Sample> {
  const started = performance.now();
  try {
    const res = await get(url);
    const body = JSON.parse(res.text) as {
      took_ms?: number;
      results?: unknown[];
      degraded?: string[];
      not_applied?: unknown[];
    };
    return {
      ms: performance.now() - started,
      status: res.status,
      ...(typeof body.took_ms === "number" ? { tookMs: body.took_ms } : {}),
      results: body.results?.length ?? 0,
      degraded: (body.degraded?.length ?? 0) > 0,
      ...(body.not_applied?.length ? { notApplied: body.not_applied.length } : {}),
    };
  } catch (err) {
    return { ms: performance.now() - started, status: 0, results: 0, degraded: false, error: String(err) };
  }
}

/** A closed loop of `concurrency` clients over the list. */
async function runConcurrent(urls: readonly string[], concurrency: number): Promise<Sample[]> {
  const out: Sample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const index = next++;
        out.push({ ...(await timedGet(urls[index]!)), index });
      }
    }),
  );
  return out;
}

if (process.send) {
  process.on("message", (job: ClientJob) => {
    void runConcurrent(job.urls, job.concurrency).then((samples) => {
      const result: ClientResult = { id: job.id, samples };
      process.send?.(result);
    });
  });
  // The parent's disconnect (normal end or crash) ends this process.
  process.on("disconnect", () => process.exit(0));
}
