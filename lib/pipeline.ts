import { Duration } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { ChromaService } from "./chroma-service";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import type { SearchDomain } from "./search-domain";
import { TrisearchFunction } from "./trisearch-function";

/** How hard a consumer may hit the store behind it. */
export interface ConsumerSettings {
  readonly batchSize?: number;
  readonly maxBatchingWindow?: Duration;
  /** Concurrent Lambda invocations for the event source (2..1000). */
  readonly maxConcurrency?: number;
}

export interface PipelineProps {
  readonly vpc: ec2.IVpc;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  readonly chroma: ChromaService;
  readonly embeddingModel: EmbeddingModel;
  /** Receives before a message goes to its DLQ (>= 5 so throttling alone never dead-letters). */
  readonly maxReceiveCount?: number;
  readonly keywordIndexer?: ConsumerSettings;
  readonly embedder?: ConsumerSettings;
  readonly slackIngest?: ConsumerSettings;
}

/** A queue, its DLQ and the one function that consumes it. */
export interface WorkQueue {
  readonly name: string;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumer: TrisearchFunction;
}

/**
 * Queues and background functions: the ingest queue (Slack events -> slack-ingest), the keyword
 * and vector queues (outbox -> keyword indexer / embedder), the outbox relay and the reconciler.
 */
export class Pipeline extends Construct {
  readonly ingest: WorkQueue;
  readonly keyword: WorkQueue;
  readonly vector: WorkQueue;
  readonly outboxRelay: TrisearchFunction;
  readonly reconcile: TrisearchFunction;
  readonly maxReceiveCount: number;
  private readonly props: PipelineProps;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.props = props;
    this.maxReceiveCount = Math.max(5, props.maxReceiveCount ?? 5);
    const { database, searchDomain, chroma, embeddingModel } = props;

    this.keyword = this.workQueue("Keyword", "keyword", {
      handlerName: "keyword-indexer",
      description: "Keyword queue -> Postgres rows -> OpenSearch _bulk",
      timeout: Duration.seconds(60),
      // Records carry up to JOBS_PER_MESSAGE (25) jobs: 20 records = up to 500 docs per _bulk.
      settings: {
        batchSize: 20,
        maxBatchingWindow: Duration.seconds(2),
        maxConcurrency: 2,
        ...props.keywordIndexer,
      },
    });
    database.bind(this.keyword.consumer);
    searchDomain.grantIndexWrite(this.keyword.consumer);

    this.vector = this.workQueue("Vector", "vector", {
      handlerName: "embedder",
      description: "Vector queue -> Postgres rows -> Bedrock embeddings -> Chroma",
      timeout: Duration.seconds(120),
      memorySize: 1024,
      // 4 records x 25 jobs = up to 100 Bedrock calls, well inside the 120 s timeout.
      settings: {
        batchSize: 4,
        maxBatchingWindow: Duration.seconds(2),
        maxConcurrency: 2,
        ...props.embedder,
      },
    });
    database.bind(this.vector.consumer);
    chroma.grantConnect(this.vector.consumer);
    embeddingModel.grantInvoke(this.vector.consumer);

    this.ingest = this.workQueue("Ingest", "ingest", {
      handlerName: "slack-ingest",
      description: "Ingest queue (Slack events) -> the ingest use case -> Postgres + outbox",
      timeout: Duration.seconds(30),
      settings: {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        maxConcurrency: 5,
        ...props.slackIngest,
      },
    });
    database.bind(this.ingest.consumer);
    this.grantPublishJobs(this.ingest.consumer);

    this.outboxRelay = this.backgroundFunction("OutboxRelay", {
      handlerName: "outbox-relay",
      description: "Scheduled: publishes outbox rows the after-commit fast path could not",
      timeout: Duration.seconds(60),
    });
    database.bind(this.outboxRelay);
    this.grantPublishJobs(this.outboxRelay);

    this.reconcile = this.backgroundFunction("Reconcile", {
      handlerName: "reconcile",
      description: "Scheduled: finds drift between Postgres and the indexes, re-enqueues and removes orphans",
      timeout: Duration.minutes(10),
      memorySize: 1024,
    });
    database.bind(this.reconcile);
    // Orphan deletes go straight to the index; missing/stale rows go back through the queues.
    searchDomain.grantIndexWrite(this.reconcile);
    chroma.grantConnect(this.reconcile);
    embeddingModel.bindSettings(this.reconcile);
    this.grantPublishJobs(this.reconcile);
  }

  get workQueues(): WorkQueue[] {
    return [this.ingest, this.keyword, this.vector];
  }

  /** SendMessage on the keyword and vector queues (the outbox fast path and the relay). */
  grantPublishJobs(fn: TrisearchFunction): void {
    this.keyword.queue.grantSendMessages(fn);
    this.vector.queue.grantSendMessages(fn);
    fn.addEnvironment("KEYWORD_QUEUE_URL", this.keyword.queue.queueUrl);
    fn.addEnvironment("VECTOR_QUEUE_URL", this.vector.queue.queueUrl);
  }

  /** SendMessage on the ingest queue (the Slack webhook). */
  grantEnqueueIngest(fn: TrisearchFunction): void {
    this.ingest.queue.grantSendMessages(fn);
    fn.addEnvironment("INGEST_QUEUE_URL", this.ingest.queue.queueUrl);
  }

  private backgroundFunction(
    id: string,
    opts: { handlerName: string; description: string; timeout: Duration; memorySize?: number },
  ): TrisearchFunction {
    return new TrisearchFunction(this, id, { ...opts, vpc: this.props.vpc });
  }

  private workQueue(
    id: string,
    name: string,
    opts: {
      handlerName: string;
      description: string;
      timeout: Duration;
      memorySize?: number;
      settings: ConsumerSettings;
    },
  ): WorkQueue {
    const consumer = this.backgroundFunction(`${id}Consumer`, opts);
    const batchingWindow = opts.settings.maxBatchingWindow ?? Duration.seconds(0);
    const deadLetterQueue = new sqs.Queue(this, `${id}Dlq`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // AWS guidance: at least 6x the function timeout plus the batching window, so a message
      // is never visible again while a (retried) invocation may still hold it.
      visibilityTimeout: Duration.seconds(opts.timeout.toSeconds() * 6 + batchingWindow.toSeconds()),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
    consumer.addEventSource(
      new SqsEventSource(queue, {
        batchSize: opts.settings.batchSize,
        maxBatchingWindow: opts.settings.maxBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, opts.settings.maxConcurrency ?? 2),
      }),
    );
    return { name, queue, deadLetterQueue, consumer };
  }
}
