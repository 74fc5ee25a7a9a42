import { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import type { TrisearchFunction } from "./trisearch-function";

export interface EmbeddingModelProps {
  readonly modelId?: string;
  readonly dimensions?: 256 | 512 | 1024;
}

/** The Bedrock embedding model (Titan Text Embeddings v2): who may invoke it and with which settings. */
export class EmbeddingModel extends Construct {
  readonly modelId: string;
  readonly dimensions: number;
  readonly modelArn: string;

  constructor(scope: Construct, id: string, props: EmbeddingModelProps = {}) {
    super(scope, id);
    this.modelId = props.modelId ?? "amazon.titan-embed-text-v2:0";
    this.dimensions = props.dimensions ?? 1024;
    this.modelArn = Stack.of(this).formatArn({
      service: "bedrock",
      account: "",
      resource: "foundation-model",
      resourceName: this.modelId,
    });
  }

  /** bedrock:InvokeModel on this one model ARN, plus the model settings. */
  grantInvoke(fn: TrisearchFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["bedrock:InvokeModel"], resources: [this.modelArn] }),
    );
    this.bindSettings(fn);
  }

  /**
   * Model settings only, no permission: the reconciler names the vector collection after the
   * model (id + dimension) but never embeds.
   */
  bindSettings(fn: TrisearchFunction): void {
    fn.addEnvironment("EMBEDDER", "bedrock");
    fn.addEnvironment("BEDROCK_MODEL_ID", this.modelId);
    fn.addEnvironment("BEDROCK_DIMENSIONS", String(this.dimensions));
  }
}
