import { ChromaClient } from "chromadb";
import { ChromaQueryHttp } from "../../adapters/chroma/chroma-query-http";
import { type Config, config } from "../config";
import { ClientCache } from "./cache";

// ChromaClient holds no sockets of its own (fetch); nothing to close.
export const chromaClients = new ClientCache<ChromaClient>(() => undefined);
export const chromaQueryClients = new ClientCache<ChromaQueryHttp>((c) => c.close());

export function chromaClient(cfg: Config = config()): ChromaClient {
  return chromaClients.get(cfg.CHROMA_URL, () => {
    const url = new URL(cfg.CHROMA_URL);
    return new ChromaClient({
      host: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      ssl: url.protocol === "https:",
    });
  });
}

/** Chroma's query endpoint on a keep-alive node:http agent (the search hot path, see chroma-query-http.ts). */
export function chromaQueryHttp(cfg: Config = config()): ChromaQueryHttp {
  return chromaQueryClients.get(cfg.CHROMA_URL, () => new ChromaQueryHttp(cfg.CHROMA_URL));
}
