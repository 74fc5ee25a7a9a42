import { type BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import * as z from "zod";
import { PermanentError, RetryableError } from "../../core/errors";
import type { Embedder } from "../../core/ports";

export interface BedrockEmbedderOptions {
  readonly modelId?: string;
  readonly dimensions?: 256 | 512 | 1024;
  /** Parallel InvokeModel calls per embed(): Titan v2 takes one text per request. */
  readonly concurrency?: number;
  /** The client for search queries (its own retry settings); the documents' client when absent. */
  readonly queryClient?: BedrockRuntimeClient;
}

const responseSchema = z.object({
  embedding: z.array(z.number()),
  inputTextTokenCount: z.number().optional(),
});

/** Titan v2 rejects longer input; cutting here keeps a long message embeddable. */
const MAX_INPUT_CHARS = 50_000;

const RETRYABLE_NAMES = new Set([
  "ThrottlingException",
  "ServiceUnavailableException",
  "ModelNotReadyException",
  "InternalServerException",
  "ModelTimeoutException",
]);

/** A failure a later call may fix (the SDK's attempts ran out): SQS redelivers, search answers 503. */
function isRetryable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (RETRYABLE_NAMES.has(err.name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // No HTTP status at all means the request never got an answer (socket reset, timeout).
  return status === undefined || status === 429 || status >= 500;
}

/**
 * Amazon Titan Text Embeddings v2 through InvokeModel. Retries are the client's (the SDK's adaptive
 * retry mode, configured where the client is built): an error seen here is final for this call.
 */
export class BedrockEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension: number;
  private readonly bedrockModelId: string;
  private readonly concurrency: number;
  private readonly queryClient: BedrockRuntimeClient;

  constructor(
    private readonly client: BedrockRuntimeClient,
    opts: BedrockEmbedderOptions = {},
  ) {
    this.bedrockModelId = opts.modelId ?? "amazon.titan-embed-text-v2:0";
    this.dimension = opts.dimensions ?? 1024;
    this.modelId = `bedrock:${this.bedrockModelId}:${this.dimension}`;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.queryClient = opts.queryClient ?? client;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    return this.embedAll(this.client, texts);
  }

  embedForSearch(texts: readonly string[]): Promise<number[][]> {
    return this.embedAll(this.queryClient, texts);
  }

  private async embedAll(client: BedrockRuntimeClient, texts: readonly string[]): Promise<number[][]> {
    const out = new Array<number[]>(texts.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
      // Stop taking work after a failure: the whole call fails anyway.
      while (!failed && next < texts.length) {
        const i = next++;
        try {
          out[i] = await this.embedOne(client, texts[i]!);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, texts.length) }, worker));
    return out;
  }

  /** Titan embeds queries and documents alike: one InvokeModel call. */
  embedQuery(text: string): Promise<number[]> {
    return this.embedOne(this.queryClient, text);
  }

  private async embedOne(client: BedrockRuntimeClient, text: string): Promise<number[]> {
    const command = new InvokeModelCommand({
      modelId: this.bedrockModelId,
      contentType: "application/json",
      accept: "application/json",
      body: JSON.stringify({
        inputText: text.slice(0, MAX_INPUT_CHARS),
        dimensions: this.dimension,
        normalize: true,
      }),
    });
    let body: Uint8Array;
    try {
      body = (await client.send(command)).body;
    } catch (err) {
      if (!isRetryable(err)) {
        throw new PermanentError("embedding_failed", `Bedrock ${this.bedrockModelId}: ${String(err)}`, err);
      }
      const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
      throw new RetryableError(
        `Bedrock ${this.bedrockModelId} still failing after ${attempts} attempt${attempts === 1 ? "" : "s"}`,
        err,
      );
    }
    return this.parse(body);
  }

  private parse(body: Uint8Array): number[] {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch (err) {
      throw new PermanentError("embedding_invalid_response", "Bedrock returned a non-JSON body", err);
    }
    const parsed = responseSchema.safeParse(json);
    if (!parsed.success) {
      throw new PermanentError("embedding_invalid_response", `Bedrock response: ${parsed.error.message}`);
    }
    const { embedding } = parsed.data;
    if (embedding.length !== this.dimension) {
      throw new PermanentError(
        "embedding_dimension_mismatch",
        `${this.modelId} returned ${embedding.length} dimensions, expected ${this.dimension}`,
      );
    }
    return embedding;
  }
}
