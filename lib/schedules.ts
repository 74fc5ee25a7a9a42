import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { SCHEDULES, type ScheduleName } from "../functions/topology";
import { constructId } from "./access";

export interface SchedulesProps {
  /** The function each schedule of functions/topology.ts invokes. */
  readonly targets: Record<ScheduleName, lambda.IFunction>;
}

/** EventBridge rules, one per entry of SCHEDULES: the outbox relay (safety net behind the after-commit publish) and the reconciler. */
export class Schedules extends Construct {
  readonly rules: Record<ScheduleName, events.Rule>;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const entries = Object.entries(SCHEDULES) as [ScheduleName, (typeof SCHEDULES)[ScheduleName]][];
    this.rules = Object.fromEntries(
      entries.map(([name, spec]) => [
        name,
        new events.Rule(this, constructId(name), {
          description: spec.description,
          schedule: events.Schedule.rate(Duration.seconds(spec.everySeconds)),
          targets: [
            new targets.LambdaFunction(props.targets[name], {
              retryAttempts: spec.retryAttempts,
              maxEventAge: Duration.seconds(spec.maxEventAgeSeconds),
            }),
          ],
        }),
      ]),
    ) as Record<ScheduleName, events.Rule>;
  }
}
