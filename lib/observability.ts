import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import type { Api } from "./api";
import type { WorkQueue } from "./pipeline";
import type { TrisearchFunction } from "./trisearch-function";

export interface ObservabilityProps {
  readonly workQueues: WorkQueue[];
  readonly functions: TrisearchFunction[];
  readonly api: Api;
  /** Alarm when a queue's oldest message is older than this (the pipeline is falling behind). */
  readonly maxMessageAge?: Duration;
  readonly alarmEmail?: string;
}

/** Alarms (DLQ depth, queue age, function errors and throttles, API 5xx) to one SNS topic, and a dashboard. */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, "Alarms", {
      displayName: "Trisearch alarms",
      masterKey: kms.Alias.fromAliasName(this, "SnsKey", "alias/aws/sns"),
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new cwActions.SnsAction(this.topic);
    const maxAge = props.maxMessageAge ?? Duration.minutes(15);
    const period = Duration.minutes(5);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
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
        fnWidgets,
      ],
    });
  }
}
