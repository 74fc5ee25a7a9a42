/**
 * Clients are created once per container (Lambda reuses them across invocations) and only on
 * first use, so a function never pays for a client it does not call. They are kept per endpoint:
 * a config pointing elsewhere (a test namespace, an eval run) gets its own client instead of
 * silently reusing the first one. One module per kind of client, so a bundle carries only the
 * drivers its function calls (clients.ts gathers them for the CLI and tests).
 */
export class ClientCache<T> {
  readonly #clients = new Map<string, T>();

  constructor(private readonly closeOne: (client: T) => unknown) {}

  get(key: string, create: () => T): T {
    let client = this.#clients.get(key);
    if (!client) {
      client = create();
      this.#clients.set(key, client);
    }
    return client;
  }

  /** Closes every client and forgets it (a later get() creates a new one). */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map(async (c) => this.closeOne(c)));
  }
}

/** Local endpoints take any credentials; in AWS the default provider chain applies. */
export const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };
