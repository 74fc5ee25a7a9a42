import type { LegHit, SearchFilters, StoredMessage } from "../../core/model";
import type { IndexedVersion, VectorCollection } from "../../core/ports";

/**
 * A vector collection whose adapter module is imported on first use (vectors.ts): a Lambda bundle
 * then carries only the store it was built for. Every call waits for the one import.
 */
export class LazyVectorCollection implements VectorCollection {
  private loading: Promise<VectorCollection> | undefined;

  constructor(
    readonly collectionName: string,
    readonly filtersInStore: boolean,
    private readonly load: () => Promise<VectorCollection>,
  ) {}

  private get inner(): Promise<VectorCollection> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  async upsert(rows: readonly { message: StoredMessage; embedding: number[] }[]): Promise<void> {
    return (await this.inner).upsert(rows);
  }
  async remove(messageIds: readonly number[]): Promise<void> {
    return (await this.inner).remove(messageIds);
  }
  async query(embedding: number[], filters: SearchFilters, limit: number): Promise<LegHit[]> {
    return (await this.inner).query(embedding, filters, limit);
  }
  async queryAmong(embedding: number[], messageIds: readonly number[], limit: number): Promise<LegHit[]> {
    return (await this.inner).queryAmong(embedding, messageIds, limit);
  }
  async count(): Promise<number> {
    return (await this.inner).count();
  }
  async listVersions(offset: number, limit: number): Promise<IndexedVersion[]> {
    return (await this.inner).listVersions(offset, limit);
  }
  async getVersions(messageIds: readonly number[]): Promise<Map<number, IndexedVersion>> {
    return (await this.inner).getVersions(messageIds);
  }
  async exists(): Promise<boolean> {
    return (await this.inner).exists();
  }
  async collectionModel(): Promise<{ modelId: string; dimension: number } | null> {
    return (await this.inner).collectionModel();
  }
  async ensureCollection(): Promise<unknown> {
    return (await this.inner).ensureCollection();
  }
  async deleteCollection(): Promise<void> {
    return (await this.inner).deleteCollection();
  }
  async vectorsOf(messageIds: readonly number[]): Promise<Map<number, Float32Array>> {
    return (await this.inner).vectorsOf(messageIds);
  }
  async nearestMany(queries: readonly Float32Array[], limit: number): Promise<LegHit[][]> {
    return (await this.inner).nearestMany(queries, limit);
  }
}
