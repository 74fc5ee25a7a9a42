import { Duration } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  QUEUES,
  type QueueName,
  SCHEDULES,
  type ScheduleName,
  visibilityTimeoutSeconds,
} from "../functions/topology";
import { type AccessProviders, constructId, grantAccess } from "./access";
import type { ChromaService } from "./chroma-service";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import type { SearchDomain } from "./search-domain";
import { TrisearchFunction } from "./trisearch-function";

export interface PipelineProps {
  readonly vpc: ec2.IVpc;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  readonly chroma: ChromaService;
  readonly embeddingModel: EmbeddingModel;
  /** Deploy-time overrides of a queue's event-source concurrency (2..1000); default: the topology's. */
  readonly maxConcurrency?: Partial<Record<QueueName, number | undefined>>;
}

/** A queue, its DLQ and the one function that consumes it. */
export interface WorkQueue {
  readonly name: QueueName;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumer: TrisearchFunction;
}

/**
 * Queues and background functions, as functions/topology.ts declares them: each of QUEUES with its
 * DLQ and consumer (ingest: Slack events -> slack-ingest; keyword and vector: outbox -> keyword
 * indexer / embedder), and the function of each of SCHEDULES (outbox relay, reconciler).
 */
export class Pipeline extends Construct {
  readonly queues: Record<QueueName, WorkQueue>;
  readonly scheduled: Record<ScheduleName, TrisearchFunction>;
  private readonly props: PipelineProps;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.props = props;
    const names = Object.keys(QUEUES) as QueueName[];
    this.queues = Object.fromEntries(names.map((name) => [name, this.workQueue(name)])) as Record<
      QueueName,
      WorkQueue
    >;
    const providers: AccessProviders = { ...props, jobs: this };
    // After every queue exists: a consumer may publish to another queue (slack-ingest -> keyword, vector).
    for (const q of this.workQueues) grantAccess(q.consumer, providers);
    const schedules = Object.entries(SCHEDULES) as [ScheduleName, (typeof SCHEDULES)[ScheduleName]][];
    this.scheduled = Object.fromEntries(
      schedules.map(([name, schedule]) => {
        const fn = new TrisearchFunction(this, constructId(name), {
          handlerName: schedule.function,
          vpc: props.vpc,
        });
        grantAccess(fn, providers);
        return [name, fn];
      }),
    ) as Record<ScheduleName, TrisearchFunction>;
  }

  get ingest(): WorkQueue {
    return this.queues.ingest;
  }
  get keyword(): WorkQueue {
    return this.queues.keyword;
  }
  get vector(): WorkQueue {
    return this.queues.vector;
  }
  get outboxRelay(): TrisearchFunction {
    return this.scheduled.outboxRelay;
  }
  get reconcile(): TrisearchFunction {
    return this.scheduled.reconcile;
  }

  get workQueues(): WorkQueue[] {
    return Object.values(this.queues);
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

  private workQueue(name: QueueName): WorkQueue {
    const spec = QUEUES[name];
    const id = constructId(name);
    const consumer = new TrisearchFunction(this, `${id}Consumer`, {
      handlerName: spec.consumer,
      vpc: this.props.vpc,
    });
    const deadLetterQueue = new sqs.Queue(this, `${id}Dlq`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(name)),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
    });
    consumer.addEventSource(
      new SqsEventSource(queue, {
        batchSize: spec.batchSize,
        maxBatchingWindow: Duration.seconds(spec.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: this.props.maxConcurrency?.[name] ?? spec.maxConcurrency,
      }),
    );
    return { name, queue, deadLetterQueue, consumer };
  }
}
