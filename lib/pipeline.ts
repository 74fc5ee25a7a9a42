import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  QUEUES,
  type QueueName,
  SCHEDULES,
  type ScheduleName,
  visibilityTimeoutSeconds,
} from "../functions/topology";
import { type AccessProviders, constructId, grantAccess, type VectorStoreAccess } from "./access";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import { suppressNag } from "./nag";
import type { SearchDomain } from "./search-domain";
import { TrisearchFunction } from "./trisearch-function";

export interface PipelineProps {
  readonly vpc: ec2.IVpc;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  /** Where vectors live (Chroma or the k-NN index): what the "vectors" access grants. */
  readonly vectors: VectorStoreAccess;
  readonly embeddingModel: EmbeddingModel;
  /** Signs search cursors: the slash command's search step reads it. */
  readonly cursorSecret: secretsmanager.ISecret;
  /** The Slack bot token: the membership resync (outside the VPC) reads it. */
  readonly slackBotToken: secretsmanager.ISecret;
  /** Deploy-time overrides of a queue's event-source concurrency (2..1000); default: the topology's. */
  readonly maxConcurrency?: Partial<Record<QueueName, number | undefined>>;
  /** The export upload bucket on stack deletion (default RETAIN: uploads are the customer's data). */
  readonly importBucketRemoval?: RemovalPolicy;
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
  /** Slack exports uploaded here are imported (object created -> the import queue -> slack-import). */
  readonly importBucket: s3.Bucket;
  private readonly props: PipelineProps;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.props = props;
    const names = Object.keys(QUEUES) as QueueName[];
    this.queues = Object.fromEntries(names.map((name) => [name, this.workQueue(name)])) as Record<
      QueueName,
      WorkQueue
    >;
    this.importBucket = new s3.Bucket(this, "ImportBucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      // An export holds the workspace's history: it is imported, then kept only briefly.
      lifecycleRules: [
        { expiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.importBucketRemoval ?? RemovalPolicy.RETAIN,
      // A destroyable (dev) stack empties the bucket on delete, or CloudFormation cannot remove it.
      autoDeleteObjects: props.importBucketRemoval === RemovalPolicy.DESTROY,
    });
    suppressNag(this.importBucket, [
      {
        id: "AwsSolutions-S1",
        reason:
          "A drop box for one-off exports, read by one function; enable CloudTrail S3 data events to audit it",
      },
    ]);
    this.importBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.queues.import.queue),
      { suffix: ".zip" },
    );
    const providers: AccessProviders = { ...props, jobs: this };
    // After every queue exists: a consumer may publish to another queue (slack-ingest -> keyword, vector).
    for (const q of this.workQueues) grantAccess(q.consumer, providers);
    const schedules = Object.entries(SCHEDULES) as [ScheduleName, (typeof SCHEDULES)[ScheduleName]][];
    this.scheduled = Object.fromEntries(
      schedules.map(([name, schedule]) => {
        const fn = new TrisearchFunction(this, constructId(name), {
          handlerName: schedule.function,
          vpc: props.vpc,
          vectorStore: props.vectors.vectorStore,
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

  /** GetObject on the upload bucket; SendMessage on the import queue (a run queues its continuation). */
  grantImportExports(fn: TrisearchFunction): void {
    // GetObject only (no List, no bucket-level actions): the notification names the object.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [this.importBucket.arnForObjects("*")],
      }),
    );
    suppressNag(fn, [
      {
        id: "AwsSolutions-IAM5",
        reason: "Reads any uploaded export: objects of the import bucket only, GetObject only",
        appliesTo: [{ regex: "/^Resource::<PipelineImportBucket[0-9A-F]+\\.Arn>\\/\\*$/" }],
      },
    ]);
    this.queues.import.queue.grantSendMessages(fn);
    fn.addEnvironment("IMPORT_QUEUE_URL", this.queues.import.queue.queueUrl);
  }

  /** SendMessage on the commands queue (the slash command's ack). */
  grantEnqueueCommands(fn: TrisearchFunction): void {
    this.queues.commands.queue.grantSendMessages(fn);
    fn.addEnvironment("COMMANDS_QUEUE_URL", this.queues.commands.queue.queueUrl);
  }

  /** SendMessage on the replies queue (the slash command's search step). */
  grantEnqueueReplies(fn: TrisearchFunction): void {
    this.queues.replies.queue.grantSendMessages(fn);
    fn.addEnvironment("REPLIES_QUEUE_URL", this.queues.replies.queue.queueUrl);
  }

  private workQueue(name: QueueName): WorkQueue {
    const spec = QUEUES[name];
    const id = constructId(name);
    const consumer = new TrisearchFunction(this, `${id}Consumer`, {
      handlerName: spec.consumer,
      vpc: this.props.vpc,
      vectorStore: this.props.vectors.vectorStore,
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
