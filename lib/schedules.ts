import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

export interface SchedulesProps {
  readonly outboxRelay: lambda.IFunction;
  readonly reconcile: lambda.IFunction;
  readonly outboxRelayRate?: Duration;
  readonly reconcileRate?: Duration;
}

/** EventBridge rules: the outbox relay (safety net behind the after-commit publish) and the reconciler. */
export class Schedules extends Construct {
  readonly outboxRelayRule: events.Rule;
  readonly reconcileRule: events.Rule;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.outboxRelayRule = new events.Rule(this, "OutboxRelay", {
      description: "Trisearch outbox relay",
      schedule: events.Schedule.rate(props.outboxRelayRate ?? Duration.minutes(1)),
      // A missed tick is covered by the next one; no point retrying an old one.
      targets: [
        new targets.LambdaFunction(props.outboxRelay, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });
    this.reconcileRule = new events.Rule(this, "Reconcile", {
      description: "Trisearch reconciler (bounded work per run, resumes from its cursor)",
      schedule: events.Schedule.rate(props.reconcileRate ?? Duration.minutes(15)),
      targets: [
        new targets.LambdaFunction(props.reconcile, { retryAttempts: 1, maxEventAge: Duration.minutes(10) }),
      ],
    });
  }
}
