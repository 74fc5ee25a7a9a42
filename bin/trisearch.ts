import { App, Tags } from "aws-cdk-lib";
import { settingsFromContext } from "../lib/settings";
import { TrisearchStack } from "../lib/trisearch-stack";

const app = new App();
const stack = new TrisearchStack(app, app.node.tryGetContext("stackName") ?? "Trisearch", {
  description: "Trisearch: hybrid search over team messages (PostgreSQL, OpenSearch, Chroma, SQS, Lambda)",
  // Account/region from the deploying credentials (`cdk deploy --profile ...`); synth works without them.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  settings: settingsFromContext(app.node),
});
Tags.of(stack).add("project", "trisearch");
app.synth();
