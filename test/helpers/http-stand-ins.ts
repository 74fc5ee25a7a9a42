import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the stand-in received. */
interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly at: number;
}

export interface RecordingServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Sets the answer for the next requests: status, body, and an optional delay before answering. */
  respondWith(
    answer: (req: RecordedRequest, index: number) => { status: number; body?: string; delayMs?: number },
  ): void;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A local HTTP server standing in for a third party (Slack's response_url): records every request
 * and answers 200 "ok" (as Slack does) unless told otherwise.
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let answer: Parameters<RecordingServer["respondWith"]>[0] = () => ({ status: 200, body: "ok" });
  const server = createServer(async (req, res) => {
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body: await readBody(req),
      at: Date.now(),
    };
    requests.push(recorded);
    const a = answer(recorded, requests.length - 1);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (res.destroyed) return;
    res.writeHead(a.status, { "content-type": "text/plain" }).end(a.body ?? "");
  });
  const url = await listen(server);
  return {
    url,
    requests,
    respondWith(next) {
      answer = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface DelayingProxy {
  readonly url: string;
  /** Milliseconds to hold a request before forwarding it; 0 forwards at once. */
  delayFor: (method: string, path: string) => number;
  close(): Promise<void>;
}

/**
 * A transparent HTTP proxy in front of a real service that can hold chosen requests back: a slow
 * dependency (e.g. OpenSearch's `_search`, the BM25 leg) without touching the shared service.
 */
export async function startDelayingProxy(target: string): Promise<DelayingProxy> {
  const upstream = new URL(target);
  const proxy: DelayingProxy = {
    url: "",
    delayFor: () => 0,
    close: async () => undefined,
  };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const delay = proxy.delayFor(req.method ?? "GET", req.url ?? "/");
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
    });
    forward.end(body);
  });
  const url = await listen(server);
  return Object.assign(proxy, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
