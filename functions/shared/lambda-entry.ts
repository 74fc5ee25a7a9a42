import { resolveSecretEnv, secretsManagerFetcher } from "./aws-secrets";

/** The handler file, substituted at bundle time (esbuild `define` in lib/trisearch-function.ts). */
declare const TRISEARCH_HANDLER: string;

/**
 * The entry of every Lambda bundle: secrets become env vars first, and only then is the handler
 * module (and with it config(), parsed at module load) evaluated. Never used locally.
 */
await resolveSecretEnv(process.env, secretsManagerFetcher);

export const { handler } = (await import(TRISEARCH_HANDLER)) as { handler: unknown };
