import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** Where a collection lives on the server (all three come with chromadb's Collection). */
export interface CollectionAddress {
  readonly tenant: string;
  readonly database: string;
  readonly id: string;
}

export interface ChromaQueryBody {
  readonly query_embeddings: number[][];
  readonly n_results: number;
  readonly where?: unknown;
  readonly ids?: string[];
  readonly include: ["distances"];
}

export interface ChromaQueryResult {
  readonly ids: string[][];
  readonly distances: (number | null)[][];
}

export interface ChromaEmbeddingsResult {
  readonly ids: string[];
  readonly embeddings: number[][] | null;
}

/**
 * Chroma's query endpoint over node:http with keep-alive: the one call every semantic search makes.
 * chromadb's client sends it through fetch, which costs ~2.4 ms more CPU per query on Node 20
 * (3.6 vs 1.1 ms, bench/README.md); at 8 concurrent searches on 2 cores that CPU is latency.
 * Embeddings for an exact scan take the same road; everything else (collections, writes,
 * reconcile) stays on chromadb's client.
 */
export class ChromaQueryHttp {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(baseUrl);
    const secure = this.base.protocol === "https:";
    this.agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = secure ? httpsRequest : httpRequest;
  }

  query(collection: CollectionAddress, body: ChromaQueryBody): Promise<ChromaQueryResult> {
    return this.post<ChromaQueryResult>(collection, "query", body);
  }

  /** Stored embeddings by id (ChromaVectorIndex.vectorsOf: the semantic leg's exact scans, gap detection). */
  getEmbeddings(collection: CollectionAddress, ids: readonly string[]): Promise<ChromaEmbeddingsResult> {
    return this.post<ChromaEmbeddingsResult>(collection, "get", { ids, include: ["embeddings"] });
  }

  private post<T>(collection: CollectionAddress, operation: "query" | "get", body: object): Promise<T> {
    const path =
      `/api/v2/tenants/${encodeURIComponent(collection.tenant)}/databases/` +
      `${encodeURIComponent(collection.database)}/collections/${encodeURIComponent(collection.id)}/${operation}`;
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.send(
        new URL(path, this.base),
        {
          method: "POST",
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new Error(`Chroma ${operation} failed: HTTP ${status}: ${errorMessage(text)}`));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`Chroma ${operation} timed out after ${this.timeoutMs} ms`)),
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; error?: string };
    return body.message ?? body.error ?? text;
  } catch {
    return text.slice(0, 200);
  }
}
