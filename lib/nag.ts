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
 * Two waivers of one rule on one resource (a role granted the keyword index and the k-NN indexes
 * each waive IAM5 for their own paths) become one that covers both: their `appliesTo` together, or
 * the whole rule when either waives it whole; their reasons joined.
 */
function mergeSuppression(a: NagSuppression, b: NagSuppression): NagSuppression {
  const reason = a.reason.split("; ").includes(b.reason) ? a.reason : `${a.reason}; ${b.reason}`;
  if (!a.appliesTo || !b.appliesTo) return { id: a.id, reason };
  const seen = new Set<string>();
  const appliesTo = [...a.appliesTo, ...b.appliesTo].filter((x) => {
    const key = JSON.stringify(x);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { id: a.id, reason, appliesTo };
}

/**
 * Waives cdk-nag rules on a construct's CloudFormation resources, as the metadata cdk-nag reads (the
 * constructs need no cdk-nag import); lib/app.ts and the tests run the AwsSolutions pack. A rule
 * waived again on the same resource keeps both waivers (mergeSuppression).
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
    const merged = [...existing];
    for (const s of suppressions) {
      const i = merged.findIndex((e) => e.id === s.id);
      if (i === -1) merged.push(s);
      else merged[i] = mergeSuppression(merged[i]!, s);
    }
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
