import { CfnResource, type Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** A cdk-nag rule waived for a resource, with the reason a reviewer can check. */
export interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** Narrows the waiver to findings about these (e.g. "Resource::<Arn>/messages/*" or a regex). */
  readonly appliesTo?: (string | { readonly regex: string })[];
}

/** The metadata key and shape cdk-nag reads (what `NagSuppressions.addResourceSuppressions` writes). */
export const NAG_METADATA_KEY = "cdk_nag";

interface NagMetadata {
  rules_to_suppress: NagSuppression[];
}

/**
 * Waives cdk-nag rules on a construct's CloudFormation resources, as the metadata cdk-nag reads (the
 * constructs need no cdk-nag import); lib/app.ts and the tests run the AwsSolutions pack.
 */
export function suppressNag(scope: IConstruct, suppressions: NagSuppression[], applyToChildren = true): void {
  for (const s of suppressions) {
    if (s.reason.trim().length < 10) throw new Error(`cdk-nag suppression ${s.id} needs a real reason`);
  }
  const targets = applyToChildren
    ? scope.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource)
    : [scope.node.defaultChild ?? scope].filter((c): c is CfnResource => c instanceof CfnResource);
  for (const resource of targets) {
    const existing =
      (resource.getMetadata(NAG_METADATA_KEY) as NagMetadata | undefined)?.rules_to_suppress ?? [];
    const merged = [...existing.filter((e) => !suppressions.some((s) => s.id === e.id)), ...suppressions];
    resource.addMetadata(NAG_METADATA_KEY, { rules_to_suppress: merged });
  }
}

/** Suppressions for the Lambda functions CDK itself adds (custom resource providers), found by id. */
export function suppressCdkInternalProviders(stack: Stack): void {
  const providers = stack.node.children.filter((c) =>
    /CustomResourceProvider|^AWS679f53fac002430cb0da5b7982bd2287$|^BucketNotificationsHandler/.test(
      c.node.id,
    ),
  );
  for (const p of providers) {
    suppressNag(p, [
      {
        id: "AwsSolutions-IAM4",
        reason: "CDK-managed custom resource provider: uses the AWSLambdaBasicExecutionRole managed policy",
      },
      {
        id: "AwsSolutions-IAM5",
        reason: "CDK-managed custom resource provider: its generated policy is not configurable",
      },
      {
        id: "AwsSolutions-L1",
        reason: "CDK-managed custom resource provider: its runtime is pinned by the CDK version",
      },
    ]);
  }
}
