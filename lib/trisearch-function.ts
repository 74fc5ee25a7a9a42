import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Size } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import {
  type ICommandHooks,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import {
  FUNCTIONS,
  type FunctionName,
  type FunctionSpec,
  memoryOf,
  NODE_MAJOR,
  networkOf,
} from "../functions/topology";
import { suppressNag } from "./nag";

/** The repository root: entries, the lock file and migrations/ are resolved from here. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Handler entry for a name, e.g. "keyword-indexer" -> functions/handlers/keyword-indexer.ts. */
function handlerEntry(name: string): string {
  return path.join(REPO_ROOT, "functions", "handlers", `${name}.ts`);
}

/**
 * The bundle entry: resolves secrets into env vars, then imports the handler file named by the
 * TRISEARCH_HANDLER define (config() must not parse the environment before the secrets are in).
 */
const LAMBDA_ENTRY = path.join(REPO_ROOT, "functions", "shared", "lambda-entry.ts");

/**
 * CJS dependencies (pg, the OpenSearch client) call `require` on Node built-ins; an ESM bundle has
 * no `require`, so one is created from the module URL.
 */
const CJS_SHIM_BANNER =
  "import { createRequire as __trisearchCreateRequire } from 'node:module';" +
  "const require = __trisearchCreateRequire(import.meta.url);";

export interface TrisearchFunctionProps {
  /**
   * The function's entry in functions/topology.ts FUNCTIONS (its description, timeout and memory),
   * which is also its file name under functions/handlers/, without `.ts`.
   */
  readonly handlerName: FunctionName;
  readonly vpc: ec2.IVpc;
  readonly environment?: Record<string, string>;
  /** Caps concurrent executions of this function (undefined = the account pool). */
  readonly reservedConcurrentExecutions?: number;
  readonly logRetention?: logs.RetentionDays;
  /** Extra files copied into the bundle (e.g. migrations/). */
  readonly commandHooks?: ICommandHooks;
  /**
   * The vector store the deployment uses (default chroma): the bundle carries only its adapter and
   * driver (functions/shared/wiring/vectors.ts, TRISEARCH_VECTOR_STORE).
   */
  readonly vectorStore?: "chroma" | "opensearch";
}

/**
 * The one place Lambda defaults live: Node (the topology's NODE_MAJOR) on ARM64, a minified ESM bundle with source maps built
 * by the local esbuild (never Docker), its own log group, private subnets of the VPC.
 */
export class TrisearchFunction extends NodejsFunction {
  readonly handlerName: FunctionName;
  readonly logGroupRef: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrisearchFunctionProps) {
    const entry = handlerEntry(props.handlerName);
    const spec: FunctionSpec = FUNCTIONS[props.handlerName];
    if (!existsSync(entry)) throw new Error(`TrisearchFunction ${id}: handler file ${entry} does not exist`);
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: LAMBDA_ENTRY,
      handler: "handler",
      description: spec.description,
      runtime: new lambda.Runtime(`nodejs${NODE_MAJOR}.x`, lambda.RuntimeFamily.NODEJS, {
        supportsInlineCode: true,
      }),
      architecture: lambda.Architecture.ARM_64,
      memorySize: memoryOf(props.handlerName),
      ...(spec.ephemeralStorageMb ? { ephemeralStorageSize: Size.mebibytes(spec.ephemeralStorageMb) } : {}),
      timeout: Duration.seconds(spec.timeoutSeconds),
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, "package-lock.json"),
      // A topology "internet" function (slack-reply) runs outside the VPC: the VPC has no route out.
      ...(networkOf(props.handlerName) === "vpc"
        ? {
            vpc: props.vpc,
            vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
            // One group per function: a data store admits exactly the functions bound to it.
            securityGroups: [
              new ec2.SecurityGroup(scope, `${id}Sg`, {
                vpc: props.vpc,
                description: `Trisearch function ${props.handlerName}`,
                allowAllOutbound: true,
              }),
            ],
          }
        : {}),
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: "trisearch",
        LOG_LEVEL: "INFO",
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: `node${NODE_MAJOR}`,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // ESM builds first, CJS as the fallback: smaller, tree-shakeable bundles.
        mainFields: ["module", "main"],
        banner: CJS_SHIM_BANNER,
        define: {
          TRISEARCH_HANDLER: JSON.stringify(entry),
          TRISEARCH_VECTOR_STORE: JSON.stringify(props.vectorStore ?? "chroma"),
        },
        // The SDK v3 ships with the Node.js runtime (keeps bundles well under 1.5 MB);
        // onnxruntime-node is the local embedder only (EMBEDDER=bedrock in AWS, loaded lazily).
        externalModules: ["@aws-sdk/*", "onnxruntime-node"],
        forceDockerBundling: false,
        commandHooks: props.commandHooks,
      },
    });
    this.handlerName = props.handlerName;
    this.logGroupRef = logGroup;
    suppressNag(this, [
      {
        id: "AwsSolutions-IAM4",
        reason:
          "The standard Lambda execution policies (CloudWatch Logs; VPC ENIs for functions in the VPC): their resources are *, the function writes only to its own log group",
        appliesTo: [
          "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
          "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        ],
      },
      {
        id: "AwsSolutions-L1",
        reason: "Node.js 22 is the project's pinned LTS runtime (tooling and tests target it)",
      },
    ]);
  }
}
