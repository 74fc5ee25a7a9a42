import { App, type AppProps, Aspects, Tags } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { settingsFromContext } from "./settings";
import { TrisearchStack } from "./trisearch-stack";

/**
 * The CDK app of `bin/trisearch.ts`: the stack from context, tagged, with the cdk-nag AwsSolutions
 * pack applied to everything in the app. An unsuppressed finding becomes an error annotation,
 * which makes `cdk synth` (and so `npm run synth` and `cdk deploy`) exit non-zero.
 */
export function trisearchApp(props: AppProps = {}): { app: App; stack: TrisearchStack } {
  const app = new App(props);
  const stack = new TrisearchStack(app, app.node.tryGetContext("stackName") ?? "Trisearch", {
    description: "Trisearch: hybrid search over team messages (PostgreSQL, OpenSearch, Chroma, SQS, Lambda)",
    // Account/region from the deploying credentials (`cdk deploy --profile ...`); synth works without them.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    settings: settingsFromContext(app.node),
  });
  Tags.of(stack).add("project", "trisearch");
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { app, stack };
}
