import { Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import type { Api } from "./api";
import type { ChromaService } from "./chroma-service";
import type { Database } from "./database";
import type { WorkQueue } from "./pipeline";
import type { SearchDomain } from "./search-domain";
import type { TrisearchFunction } from "./trisearch-function";

export interface ObservabilityProps {
  readonly workQueues: WorkQueue[];
  readonly functions: TrisearchFunction[];
  readonly api: Api;
  /** Alarm when a queue's oldest message is older than this (the pipeline is falling behind). */
  readonly maxMessageAge?: Duration;
  readonly alarmEmail?: string;
  /** Of the alarm topic's key (CDK's default for keys: retain). */
  readonly keyRemoval?: RemovalPolicy;
  /** The data stores whose health is alarmed on (OpenSearch, RDS and its proxy, Chroma's ECS/ALB/EFS). */
  readonly dataStores?: {
    readonly database: Database;
    readonly searchDomain: SearchDomain;
    /** Absent with vectorStore=opensearch (the vectors are in the search domain, alarmed above). */
    readonly chroma?: ChromaService | undefined;
    /** The OpenSearch EBS volume per data node (GiB): free storage alarms below 20% of it. */
    readonly openSearchVolumeGiB?: number;
  };
}

/** Alarms (DLQ depth, queue age, function errors and throttles, API 5xx) to one SNS topic, and a dashboard. */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  /** Customer-managed key of the topic: the AWS-managed alias/aws/sns cannot admit CloudWatch. */
  readonly topicKey: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const account = Stack.of(this).account;
    this.topicKey = new kms.Key(this, "AlarmTopicKey", {
      description: "Trisearch: encrypts the alarm topic; CloudWatch and EventBridge may publish to it",
      enableKeyRotation: true,
      removalPolicy: props.keyRemoval,
    });
    this.topic = new sns.Topic(this, "Alarms", {
      displayName: "Trisearch alarms",
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // Publishing to an encrypted topic needs the key (GenerateDataKey, Decrypt) and the topic; the
    // topic policy enforceSSL creates replaces SNS's default one, so the services are named there too.
    const publishers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"].map(
      (service) => new iam.ServicePrincipal(service),
    );
    const sameAccount = { StringEquals: { "aws:SourceAccount": account } };
    const keyActions = ["kms:Decrypt", "kms:GenerateDataKey*"];
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarms",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: keyActions,
        resources: ["*"],
        conditions: sameAccount,
      }),
    );
    // Without a condition: the SNS developer guide (Key management, "Enable compatibility between
    // event sources from AWS services and encrypted topics") says aws:SourceAccount and
    // aws:SourceArn in a KMS key policy are not supported for EventBridge-to-encrypted topics: such
    // a condition would never match and drop every event. The topic policy below keeps this
    // account's scope for EventBridge too, and the key encrypts nothing but this topic.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EventBridgeRules",
        principals: [new iam.ServicePrincipal("events.amazonaws.com")],
        actions: keyActions,
        resources: ["*"],
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AlarmPublishers",
        principals: publishers,
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions: sameAccount,
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new cwActions.SnsAction(this.topic);
    const maxAge = props.maxMessageAge ?? Duration.minutes(15);
    const period = Duration.minutes(5);

    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator,
        treatMissingData,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms.push(a);
      return a;
    };

    const queueWidgets: cloudwatch.IWidget[] = [];
    for (const wq of props.workQueues) {
      const name = wq.name[0]!.toUpperCase() + wq.name.slice(1);
      const dlqDepth = wq.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: "Maximum",
      });
      const age = wq.queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" });
      alarm(`${name}DlqNotEmpty`, dlqDepth, 0, `The ${wq.name} DLQ holds messages: inspect, fix, redrive.`);
      alarm(
        `${name}QueueAge`,
        age,
        maxAge.toSeconds(),
        `The ${wq.name} queue's oldest message is older than ${maxAge.toMinutes()} min.`,
      );
      queueWidgets.push(
        new cloudwatch.GraphWidget({
          title: `${wq.name} queue`,
          left: [wq.queue.metricApproximateNumberOfMessagesVisible({ period }), dlqDepth],
          right: [age],
          width: 8,
        }),
      );
    }

    const fnWidgets: cloudwatch.IWidget[] = [];
    for (const fn of props.functions) {
      const errors = fn.metricErrors({ period, statistic: "Sum" });
      const throttles = fn.metricThrottles({ period, statistic: "Sum" });
      const id = fn.handlerName.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase());
      alarm(`${id}Errors`, errors, 0, `${fn.handlerName} reported errors.`);
      alarm(`${id}Throttles`, throttles, 0, `${fn.handlerName} was throttled.`);
      fnWidgets.push(
        new cloudwatch.GraphWidget({
          title: fn.handlerName,
          left: [fn.metricInvocations({ period }), errors, throttles],
          right: [fn.metricDuration({ period, statistic: "p99" })],
          width: 8,
        }),
      );
    }

    const api5xx = props.api.httpApi.metricServerError({ period, statistic: "Sum" });
    alarm("Api5xx", api5xx, 0, "The HTTP API answered 5xx.");

    const storeWidgets: cloudwatch.IWidget[] = [];
    if (props.dataStores) {
      const { database, searchDomain, chroma } = props.dataStores;
      const below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
      const max = { period, statistic: "Maximum" };
      const min = { period, statistic: "Minimum" };
      const domain = searchDomain.domain;
      const volumeMiB = (props.dataStores.openSearchVolumeGiB ?? 10) * 1024;
      // OpenSearch (AWS/ES): red = a primary shard is unassigned; writes blocked = disk or JVM limits.
      alarm("SearchClusterRed", domain.metricClusterStatusRed(max), 0, "OpenSearch cluster status is red.");
      alarm(
        "SearchWritesBlocked",
        domain.metricClusterIndexWritesBlocked(max),
        0,
        "OpenSearch blocks index writes (disk or memory pressure).",
      );
      alarm(
        "SearchFreeStorage",
        domain.metricFreeStorageSpace(min),
        Math.round(volumeMiB * 0.2),
        "OpenSearch free storage is below 20% of a node's volume.",
        below,
      );
      alarm(
        "SearchJvmPressure",
        domain.metricJVMMemoryPressure(max),
        80,
        "OpenSearch JVM memory pressure > 80%.",
      );
      // RDS PostgreSQL and RDS Proxy (AWS/RDS).
      const db = database.instance;
      alarm("DbCpu", db.metricCPUUtilization(max), 80, "RDS CPU > 80%.");
      alarm(
        "DbFreeStorage",
        db.metricFreeStorageSpace(min),
        2 * 1024 ** 3,
        "RDS free storage is below 2 GiB (storage autoscaling may be at its maximum).",
        below,
      );
      alarm(
        "DbConnections",
        db.metricDatabaseConnections(max),
        60,
        "RDS holds > 60 connections (the proxy's pool should stay well below max_connections).",
      );
      const proxyMetric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: "AWS/RDS",
          metricName,
          dimensionsMap: { ProxyName: database.proxy.dbProxyName },
          period,
          statistic,
        });
      alarm(
        "DbProxyBorrowLatency",
        proxyMetric("DatabaseConnectionsBorrowLatency", "Average"),
        100_000,
        "RDS Proxy takes > 100 ms to hand out a database connection (pool exhausted).",
      );
      let chromaWidget: cloudwatch.IWidget | undefined;
      if (chroma) {
        const efsIoLimit = new cloudwatch.Metric({
          namespace: "AWS/EFS",
          metricName: "PercentIOLimit",
          dimensionsMap: { FileSystemId: chroma.fileSystem.fileSystemId },
          ...max,
        });
        // Chroma: the ECS service's running tasks, the load balancer's view of them, and EFS.
        const runningTasks = new cloudwatch.Metric({
          namespace: "ECS/ContainerInsights",
          metricName: "RunningTaskCount",
          dimensionsMap: {
            ClusterName: chroma.service.cluster.clusterName,
            ServiceName: chroma.service.serviceName,
          },
          period,
          statistic: "Minimum",
        });
        // Missing data breaches: with no task (or no Container Insights data) the count may not be
        // reported at all, and "nothing reported" must not read as "fine".
        alarm(
          "ChromaNoRunningTask",
          runningTasks,
          1,
          "No Chroma task is running (or none reports).",
          below,
          cloudwatch.TreatMissingData.BREACHING,
        );
        alarm(
          "ChromaUnhealthyHosts",
          chroma.targetGroup.metrics.unhealthyHostCount(max),
          0,
          "The Chroma load balancer sees an unhealthy target.",
        );
        alarm("ChromaEfsIoLimit", efsIoLimit, 90, "Chroma's EFS file system is near its I/O limit.");
        chromaWidget = new cloudwatch.GraphWidget({
          title: "Chroma",
          left: [runningTasks, chroma.targetGroup.metrics.unhealthyHostCount(max)],
          right: [efsIoLimit],
          width: 8,
        });
      }
      storeWidgets.push(
        new cloudwatch.GraphWidget({
          title: "OpenSearch",
          left: [domain.metricFreeStorageSpace(min)],
          right: [domain.metricJVMMemoryPressure(max), domain.metricCPUUtilization(max)],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: "PostgreSQL",
          left: [db.metricFreeStorageSpace(min)],
          right: [db.metricCPUUtilization(max), db.metricDatabaseConnections(max)],
          width: 8,
        }),
      );
      if (chromaWidget) storeWidgets.push(chromaWidget);
    }

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: "API",
            left: [
              props.api.httpApi.metricCount({ period }),
              props.api.httpApi.metricClientError({ period }),
              api5xx,
            ],
            right: [props.api.httpApi.metricLatency({ period, statistic: "p99" })],
            width: 12,
          }),
          new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 12 }),
        ],
        queueWidgets,
        storeWidgets,
        fnWidgets,
      ],
    });
  }
}
