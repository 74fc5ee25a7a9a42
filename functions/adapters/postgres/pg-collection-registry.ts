import type pg from "pg";
import type { VectorCollectionRegistry, VectorCollectionState } from "../../core/vector-collections";
import { loadState, saveState } from "./reconcile-state";

const COLLECTIONS = "vector_collections";
/** PostgreSQL's SQLSTATE for "permission denied". */
const INSUFFICIENT_PRIVILEGE = "42501";

/**
 * Which vector collection search reads (and which it read before), kept in PostgreSQL. Each vector
 * store keeps its own record (`store`), so switching VECTOR_STORE never points one store at the
 * other's collection names.
 */
export class PgCollectionRegistry implements VectorCollectionRegistry {
  private readonly key: string;

  constructor(
    private readonly pool: pg.Pool,
    store: "chroma" | "opensearch" = "chroma",
  ) {
    // Chroma keeps the original key, so existing deployments keep their state.
    this.key = store === "chroma" ? COLLECTIONS : `${COLLECTIONS}:${store}`;
  }

  async loadCollections(): Promise<VectorCollectionState | null> {
    const state = await loadState(this.pool, this.key);
    return state && typeof state === "object" && "active" in state ? (state as VectorCollectionState) : null;
  }

  async initCollections(initial: VectorCollectionState): Promise<VectorCollectionState> {
    try {
      await this.pool.query(
        "INSERT INTO reconcile_state (name, cursor) VALUES ($1, $2::jsonb) ON CONFLICT (name) DO NOTHING",
        [this.key, JSON.stringify(initial)],
      );
    } catch (err) {
      // The search functions connect as the read-only role (README "Database roles"): until a
      // writer (the embedder, the reconciler) stores the state, the initial one is what applies.
      if ((err as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw err;
    }
    return (await this.loadCollections()) ?? initial;
  }

  async saveCollections(state: VectorCollectionState): Promise<void> {
    await saveState(this.pool, this.key, state);
  }
}
