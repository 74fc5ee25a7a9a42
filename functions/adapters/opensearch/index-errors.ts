import { type Client, errors } from "@opensearch-project/opensearch";

/**
 * What the OpenSearch adapters (keyword index, k-NN vector index) share about an index that may not
 * be there: each creates its index on first write and reads answer empty until then.
 */

/** The `error.type` of an OpenSearch error response, e.g. "index_not_found_exception". */
export function errorType(err: unknown): string | undefined {
  if (!(err instanceof errors.ResponseError)) return undefined;
  const body = err.body as { error?: { type?: string } } | undefined;
  return body?.error?.type;
}

export function statusOf(err: unknown): number | undefined {
  return err instanceof errors.ResponseError ? err.statusCode : undefined;
}

/**
 * A `.catch` handler for a request on an index that may not exist yet (nothing written since a
 * deploy, or deleted until reconcile rebuilds it): null for the missing index, other errors rethrown.
 */
export function nullIfIndexMissing(err: unknown): null {
  if (errorType(err) === "index_not_found_exception") return null;
  throw err;
}

/** Creates an index; one that exists already (another instance won the race) is fine. */
export async function createIndexIfAbsent(client: Client, index: string, body: object): Promise<void> {
  try {
    await client.indices.create({ index, body: body as Record<string, unknown> });
  } catch (err) {
    if (errorType(err) !== "resource_already_exists_exception") throw err;
  }
}

/** Deletes an index and its template; either one missing is fine. */
export async function deleteIndexWithTemplate(
  client: Client,
  index: string,
  template: string,
): Promise<void> {
  await client.indices.delete({ index, ignore_unavailable: true });
  await client.indices.deleteIndexTemplate({ name: template }).catch((err: unknown) => {
    if (statusOf(err) !== 404) throw err;
  });
}
