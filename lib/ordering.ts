import { CfnResource } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * The CloudFormation types through which work reaches the functions: queue consumers, schedules,
 * API routes and stage, and the upload bucket's notifications.
 */
export const TRAFFIC_RESOURCE_TYPES = [
  "AWS::Lambda::EventSourceMapping",
  "AWS::Events::Rule",
  "AWS::Scheduler::Schedule",
  "AWS::ApiGatewayV2::Route",
  "AWS::ApiGatewayV2::Stage",
  "Custom::S3BucketNotifications",
] as const;

/**
 * Makes every resource of `scope` that lets traffic in wait for `gate` (the migration trigger), so
 * no consumer, schedule or route runs before the tables exist. Called once, after all constructs.
 */
export function serveTrafficAfter(scope: IConstruct, gate: IConstruct): void {
  const types: readonly string[] = TRAFFIC_RESOURCE_TYPES;
  for (const c of scope.node.findAll()) {
    if (c instanceof CfnResource && types.includes(c.cfnResourceType)) c.node.addDependency(gate);
  }
}
