import { type Config, config } from "../config";

/**
 * One group of ports of the composition root (container.ts), built on first use. A handler reads
 * only the parts it needs (`queues().ingestQueue`), so its bundle carries only their adapters and
 * drivers. When container.ts has a container set (setContainer: the local runtime, tests), every
 * part answers from it; otherwise the part is built once for the process config.
 */
export class Part<T> {
  #bound: T | undefined;
  #built: T | undefined;

  constructor(private readonly build: (cfg: Config) => T) {}

  get(): T {
    if (this.#bound) return this.#bound;
    this.#built ??= this.build(config());
    return this.#built;
  }

  /** Called by container.ts only: the container every part answers from (undefined: none). */
  bind(container: T | undefined): void {
    this.#bound = container;
    this.#built = undefined;
  }
}
