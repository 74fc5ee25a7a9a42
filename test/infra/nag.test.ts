import { CfnResource, Stack } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { NAG_METADATA_KEY, type NagSuppression, suppressNag } from "../../lib/nag";
import { type Synth, synthStack } from "./support";

let s: Synth;
beforeAll(() => {
  s = synthStack();
}, 300_000);

function suppressions(): { path: string; type: string; rules: NagSuppression[] }[] {
  return s.stack.node
    .findAll()
    .filter((c): c is CfnResource => c instanceof CfnResource)
    .map((r) => ({
      path: r.node.path,
      type: r.cfnResourceType,
      rules: ((r.getMetadata(NAG_METADATA_KEY) as { rules_to_suppress?: NagSuppression[] } | undefined)
        ?.rules_to_suppress ?? []) as NagSuppression[],
    }))
    .filter((x) => x.rules.length > 0);
}

describe("cdk-nag suppressions", () => {
  it("every suppression names an AwsSolutions rule and carries a reason", () => {
    const all = suppressions();
    expect(all.length).toBeGreaterThan(0);
    for (const { path, rules } of all) {
      for (const r of rules) {
        expect(r.id, path).toMatch(/^AwsSolutions-[A-Z0-9]+$/);
        expect(r.reason.trim().length, `${path} ${r.id}`).toBeGreaterThanOrEqual(30);
      }
    }
  });

  it("waives the open Slack routes and the data-free search page only, not the authorized routes", () => {
    const routes = suppressions().filter(
      (x) => x.path.includes("/HttpApi/") && x.type === "AWS::ApiGatewayV2::Route",
    );
    expect(routes.map((r) => r.path).sort()).toEqual([
      expect.stringMatching(/\/GET--\//),
      expect.stringContaining("POST--slack--commands"),
      expect.stringContaining("POST--slack--events"),
    ]);
    for (const route of routes) expect(route.rules.map((r) => r.id)).toEqual(["AwsSolutions-APIG4"]);
  });

  it("lands in the template as cdk-nag metadata", () => {
    const withMeta = Object.values(
      s.template.toJSON().Resources as Record<string, { Metadata?: object }>,
    ).filter((r) => r.Metadata && NAG_METADATA_KEY in r.Metadata);
    expect(withMeta.length).toBe(suppressions().length);
  });

  it("a rule waived twice on one resource keeps both waivers (their appliesTo together)", () => {
    const stack = new Stack();
    const bucket = new CfnResource(stack, "R", { type: "AWS::S3::Bucket" });
    const waive = (path: string) =>
      suppressNag(
        bucket,
        [{ id: "AwsSolutions-IAM5", reason: `paths below ${path}`, appliesTo: [path] }],
        false,
      );
    waive("Resource::a/*");
    waive("Resource::b/*");
    waive("Resource::b/*");
    const rules = (bucket.getMetadata(NAG_METADATA_KEY) as { rules_to_suppress: NagSuppression[] })
      .rules_to_suppress;
    expect(rules).toEqual([
      {
        id: "AwsSolutions-IAM5",
        reason: "paths below Resource::a/*; paths below Resource::b/*",
        appliesTo: ["Resource::a/*", "Resource::b/*"],
      },
    ]);
    // A whole-rule waiver stays whole.
    suppressNag(bucket, [{ id: "AwsSolutions-IAM5", reason: "the whole rule, on purpose" }], false);
    const after = (bucket.getMetadata(NAG_METADATA_KEY) as { rules_to_suppress: NagSuppression[] })
      .rules_to_suppress;
    expect(after).toHaveLength(1);
    expect(after[0]!.appliesTo).toBeUndefined();
  });

  it("refuses a suppression without a reason", () => {
    const stack = new Stack();
    expect(() => suppressNag(stack, [{ id: "AwsSolutions-IAM5", reason: " " }])).toThrow(/reason/);
  });
});

// cdk-nag is a devDependency that lib/app.ts imports: the pack always runs (never skipped).
describe("cdk-nag AwsSolutions pack", () => {
  it.each([
    ["the defaults", {}],
    ["a dev stack (removalPolicy=destroy)", { removalPolicy: "destroy" }],
    // The search roles hold IAM5 waivers for the keyword index and the k-NN indexes: both must hold.
    ["vectorStore=opensearch on two data nodes", { vectorStore: "opensearch", openSearchDataNodes: 2 }],
  ])(
    "reports no unsuppressed error with %s",
    (_name, settings) => {
      const fresh = synthStack({ settings, aspects: [new AwsSolutionsChecks({ verbose: true })] });
      const errors = Annotations.fromStack(fresh.stack).findError(
        "*",
        Match.stringLikeRegexp("AwsSolutions-.*"),
      );
      expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 160)}`)).toEqual([]);
    },
    300_000,
  );
});
