import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type {
  SQSEvent,
  SQSMessageAttributeDataType,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from "aws-lambda";
import { consoleLogger, invokeHandler, type LambdaHandler, type RuntimeLogger } from "./lambda-context";

/**
 * Plays Lambda's SQS event source mapping (with ReportBatchItemFailures on): receive a
 * batch, invoke the handler with an SQSEvent, delete only the records it did not report as
 * failed. A throw deletes nothing, so the queue's redrive policy handles poison messages.
 */

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Returns an SQSBatchResponse, or nothing when every record succeeded (as Lambda allows). */
  handler: LambdaHandler<SQSEvent, unknown>;
  functionName: string;
  /**
   * Records per invocation. Up to 10 is one ReceiveMessage; above 10 (Lambda allows up to 10,000)
   * needs a batching window, as in Lambda, and the batch is gathered over several receives.
   */
  batchSize?: number;
  /**
   * Lambda's MaximumBatchingWindowInSeconds (0..300): after the first records arrive, keep receiving
   * until batchSize records, 6 MB of payload, or the window ends, then invoke once.
   */
  maxBatchingWindowSeconds?: number;
  /**
   * Divides the batching window (the local runtime's LOCAL_SPEEDUP setting, for development and
   * tests); Lambda's rules are still checked on maxBatchingWindowSeconds. Default 1.
   */
  windowSpeedup?: number;
  /** Long poll length; short so stop() returns quickly. */
  waitTimeSeconds?: number;
  visibilityTimeout?: number;
  /** Parallel receive/invoke loops, like the event source's maximum concurrency. */
  maxConcurrency?: number;
  /** Function timeout; a timed-out invocation counts as a failed one. */
  timeoutMs?: number;
  onError?: (err: unknown) => void;
  logger?: RuntimeLogger;
}

interface SqsPollerCounters {
  received: number;
  deleted: number;
  failedItems: number;
  invocations: number;
  /** Invocations that threw, timed out or returned an invalid response. */
  failedInvocations: number;
  /** DeleteMessageBatch entries that SQS reported as failed. */
  deleteFailures: number;
  /** Milliseconds spent inside handler invocations (benchmarks: handler time vs queue time). */
  invokeMs: number;
}

/** What a poller was started with: the event source mapping's settings. */
interface SqsPollerSettings {
  readonly functionName: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly windowSpeedup: number;
  readonly maxConcurrency: number;
  readonly timeoutMs: number;
}

export interface SqsPoller {
  /** Live counters, for tests and benchmarks. */
  readonly counters: Readonly<SqsPollerCounters>;
  readonly settings: SqsPollerSettings;
  stop(): Promise<void>;
}

const RECEIVE_ERROR_BACKOFF_MS = 1_000;
/** SQS returns at most 10 messages per ReceiveMessage. */
const SQS_RECEIVE_MAX = 10;
/** Lambda's synchronous invocation payload limit, which also caps a gathered batch. */
const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** Receives in flight while gathering one large batch (the event source polls in parallel too). */
const RECEIVES_IN_FLIGHT = 10;
/** Pause between empty receives while a batching window is still open. */
const EMPTY_WINDOW_PAUSE_MS = 50;

/** Lambda's rules for an SQS event source: a batch above 10 requires a batching window. */
export function validateBatching(batchSize: number, windowSeconds: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new Error(`batchSize must be an integer in 1..10000, got ${batchSize}`);
  if (!Number.isInteger(windowSeconds) || windowSeconds < 0 || windowSeconds > 300)
    throw new Error(`maxBatchingWindowSeconds must be an integer in 0..300, got ${windowSeconds}`);
  if (batchSize > SQS_RECEIVE_MAX && windowSeconds < 1)
    throw new Error("a batchSize above 10 requires maxBatchingWindowSeconds >= 1 (as in Lambda)");
}

function toRecordAttributes(msg: Message): SQSRecordAttributes {
  const a = msg.Attributes ?? {};
  // Lambda passes SQS's system attributes through under their own names.
  return {
    ...a,
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? "",
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  } as SQSRecordAttributes;
}

function toMessageAttributes(msg: Message): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(msg.MessageAttributes ?? {})) {
    out[name] = {
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString("base64") } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
      dataType: (v.DataType ?? "String") as SQSMessageAttributeDataType,
    };
  }
  return out;
}

/** One SQS message in the shape Lambda's event source mapping delivers it. */
function toSqsRecord(msg: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  return {
    messageId: msg.MessageId ?? "",
    receiptHandle: msg.ReceiptHandle ?? "",
    body: msg.Body ?? "",
    attributes: toRecordAttributes(msg),
    messageAttributes: toMessageAttributes(msg),
    md5OfBody: msg.MD5OfBody ?? "",
    ...(msg.MD5OfMessageAttributes ? { md5OfMessageAttributes: msg.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion,
  };
}

/**
 * Lambda's reading of a partial batch response: null/undefined/empty means all succeeded;
 * an identifier that is empty or not in the batch fails the whole batch. Returns the failed
 * message ids, or undefined when the whole batch must be retried.
 */
function failedIdsFrom(response: unknown, batchIds: ReadonlySet<string>): Set<string> | undefined {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== "object") return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return undefined;
  const failed = new Set<string>();
  for (const f of failures) {
    const id =
      typeof f === "object" && f !== null ? (f as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== "string" || id === "" || !batchIds.has(id)) return undefined;
    failed.add(id);
  }
  return failed;
}

export function startSqsPoller(opts: SqsPollerOptions): SqsPoller {
  const {
    sqs,
    queueUrl,
    handler,
    functionName,
    batchSize = 10,
    maxBatchingWindowSeconds = 0,
    windowSpeedup = 1,
    waitTimeSeconds = 1,
    visibilityTimeout,
    maxConcurrency = 1,
    timeoutMs = 30_000,
    logger = consoleLogger,
  } = opts;
  validateBatching(batchSize, maxBatchingWindowSeconds);
  const onError = opts.onError ?? ((err: unknown) => logger.error(`[${functionName}] SQS poller error`, err));
  const counters: SqsPollerCounters = {
    received: 0,
    deleted: 0,
    failedItems: 0,
    invocations: 0,
    failedInvocations: 0,
    deleteFailures: 0,
    invokeMs: 0,
  };
  let stopping = false;
  const wakers = new Set<() => void>();
  let source: Promise<{ arn: string; region: string }> | undefined;

  // The ARN is looked up once, like the event source mapping which is bound to one queue.
  const eventSource = () => {
    source ??= (async () => {
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
      );
      const arn = attrs.Attributes?.QueueArn;
      if (!arn) throw new Error(`queue ${queueUrl} has no QueueArn`);
      return { arn, region: await sqs.config.region() };
    })().catch((err: unknown) => {
      source = undefined;
      throw err;
    });
    return source;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wakers.add(done);
    });

  const deleteRecords = async (records: SQSRecord[]): Promise<void> => {
    const chunks: SQSRecord[][] = [];
    for (let i = 0; i < records.length; i += 10) chunks.push(records.slice(i, i + 10));
    // In parallel: a gathered batch of 500 would otherwise pay 50 sequential round trips.
    await Promise.all(
      chunks.map(async (chunk) => {
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        counters.deleted += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) {
          counters.deleteFailures++;
          const record = chunk[Number(f.Id)];
          logger.error(
            `[${functionName}] delete failed for ${record?.messageId ?? f.Id}: ${f.Code ?? "?"} ${f.Message ?? ""}`,
          );
        }
      }),
    );
  };

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: wait,
        ...(visibilityTimeout !== undefined ? { VisibilityTimeout: visibilityTimeout } : {}),
        MessageSystemAttributeNames: ["All"],
        // Older SQS emulators only know the deprecated name.
        AttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    return out.Messages ?? [];
  };

  /**
   * One invocation's records: a long poll for the first ones, then (with a batching window) more
   * receives until the batch is full, the payload reaches 6 MB, or the window closes.
   */
  const gather = async (): Promise<Message[]> => {
    const batch = await receive(Math.min(SQS_RECEIVE_MAX, batchSize), waitTimeSeconds);
    if (batch.length === 0 || maxBatchingWindowSeconds === 0) return batch;
    const deadline = Date.now() + (maxBatchingWindowSeconds * 1000) / windowSpeedup;
    let bytes = batch.reduce((sum, m) => sum + Buffer.byteLength(m.Body ?? ""), 0);
    while (batch.length < batchSize && bytes < MAX_BATCH_BYTES && !stopping && Date.now() < deadline) {
      const missing = batchSize - batch.length;
      const calls = Math.min(RECEIVES_IN_FLIGHT, Math.ceil(missing / SQS_RECEIVE_MAX));
      let received: Message[];
      try {
        received = (
          await Promise.all(
            Array.from({ length: calls }, (_, k) =>
              receive(Math.min(SQS_RECEIVE_MAX, missing - k * SQS_RECEIVE_MAX), 0),
            ),
          )
        ).flat();
      } catch (err) {
        // What was gathered is invoked, not left to time out; a lost receive's records reappear later.
        onError(err);
        break;
      }
      for (const m of received) {
        batch.push(m);
        bytes += Buffer.byteLength(m.Body ?? "");
      }
      if (received.length === 0)
        await sleep(Math.min(EMPTY_WINDOW_PAUSE_MS, Math.max(0, deadline - Date.now())));
    }
    return batch;
  };

  /** Invokes the handler; resolves to the deletion of the succeeded records, which it does not wait for. */
  const processBatch = async (messages: Message[]): Promise<{ deleting: Promise<void> }> => {
    const done = { deleting: Promise.resolve() };
    const { arn, region } = await eventSource();
    const records = messages.map((m) => toSqsRecord(m, arn, region));
    counters.invocations++;
    let response: unknown;
    const invoked = performance.now();
    try {
      response = await invokeHandler(handler, { Records: records }, functionName, timeoutMs, { region });
      counters.invokeMs += performance.now() - invoked;
    } catch (err) {
      counters.invokeMs += performance.now() - invoked;
      counters.failedInvocations++;
      logger.error(`[${functionName}] invocation failed; ${records.length} message(s) will be retried`, err);
      return done;
    }
    const failed = failedIdsFrom(response, new Set(records.map((r) => r.messageId)));
    if (!failed) {
      counters.failedInvocations++;
      logger.error(`[${functionName}] invalid batchItemFailures response; the whole batch will be retried`);
      return done;
    }
    counters.failedItems += failed.size;
    // A failed delete only means redelivery (the writes are idempotent), so it is logged, not thrown.
    return { deleting: deleteRecords(records.filter((r) => !failed.has(r.messageId))).catch(onError) };
  };

  const loop = async (): Promise<void> => {
    // The previous batch's deletes overlap this batch's receives, as the event source's own pollers
    // delete apart from the next poll; at most one batch's deletes are in flight per loop.
    let deleting: Promise<void> = Promise.resolve();
    while (!stopping) {
      try {
        const messages = await gather();
        await deleting;
        if (messages.length === 0) continue;
        counters.received += messages.length;
        // A received batch is always finished, even when stop() was called meanwhile.
        ({ deleting } = await processBatch(messages));
      } catch (err) {
        onError(err);
        if (!stopping) await sleep(RECEIVE_ERROR_BACKOFF_MS);
      }
    }
    await deleting;
  };

  const loops = Array.from({ length: Math.max(1, maxConcurrency) }, () => loop());

  return {
    counters,
    settings: { functionName, batchSize, maxBatchingWindowSeconds, windowSpeedup, maxConcurrency, timeoutMs },
    async stop() {
      stopping = true;
      for (const w of [...wakers]) w();
      await Promise.all(loops);
    },
  };
}
