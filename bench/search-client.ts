/**
 * The search benchmark's load generator, forked by bench/search.ts into its own process so the
 * server process only serves (as a deployed API would) and the clients' fetch/JSON work does not
 * compete with the handlers for one event loop. Protocol (IPC): the parent sends
 * { id, urls, concurrency }; this process answers { id, samples } after a closed loop of
 * `concurrency` clients has sent every url once.
 */

export interface Sample {
  readonly ms: number;
  readonly status: number;
  readonly tookMs?: number;
  readonly results: number;
  readonly degraded: boolean;
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

async function timedGet(url: string): Promise<Sample> {
  const started = performance.now();
  try {
    const res = await fetch(url);
    const body = (await res.json()) as { took_ms?: number; results?: unknown[]; degraded?: string[] };
    return {
      ms: performance.now() - started,
      status: res.status,
      ...(typeof body.took_ms === "number" ? { tookMs: body.took_ms } : {}),
      results: body.results?.length ?? 0,
      degraded: (body.degraded?.length ?? 0) > 0,
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
        const url = urls[next++]!;
        out.push(await timedGet(url));
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
