import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer, HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { ChromaService } from "./chroma-service";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import { suppressNag } from "./nag";
import type { Pipeline } from "./pipeline";
import type { SearchDomain } from "./search-domain";
import { TrisearchFunction } from "./trisearch-function";

/** `/messages` and `/search` need IAM (SigV4) callers or a JWT from the configured issuer. */
export type ApiAuth =
  | { readonly mode: "iam" }
  | { readonly mode: "jwt"; readonly issuer: string; readonly audience: string[] };

export interface ApiProps {
  readonly vpc: ec2.IVpc;
  readonly auth: ApiAuth;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  readonly chroma: ChromaService;
  readonly embeddingModel: EmbeddingModel;
  readonly pipeline: Pipeline;
  readonly slackSigningSecret: secretsmanager.ISecret;
  /** Steady-state requests per second for the whole stage. */
  readonly throttleRateLimit?: number;
  readonly throttleBurstLimit?: number;
}

/**
 * The HTTP API: POST /messages and DELETE /messages/{id} (ingest), GET|POST /search (search), both
 * behind the authorizer; POST /slack/events is open at the gateway because Slack cannot sign with
 * IAM or a JWT: the function checks Slack's HMAC signature instead.
 */
export class Api extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly ingestFunction: TrisearchFunction;
  readonly searchFunction: TrisearchFunction;
  readonly slackEventsFunction: TrisearchFunction;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { database, searchDomain, chroma, embeddingModel, pipeline } = props;

    this.ingestFunction = new TrisearchFunction(this, "Ingest", {
      handlerName: "ingest",
      description: "POST /messages, DELETE /messages/{id}",
      vpc: props.vpc,
      timeout: Duration.seconds(20),
    });
    database.bind(this.ingestFunction);
    pipeline.grantPublishJobs(this.ingestFunction);

    this.searchFunction = new TrisearchFunction(this, "Search", {
      handlerName: "search",
      description: "GET|POST /search: BM25, semantic and hybrid (RRF)",
      vpc: props.vpc,
      timeout: Duration.seconds(20),
      memorySize: 1024,
    });
    database.bind(this.searchFunction);
    searchDomain.grantIndexRead(this.searchFunction);
    chroma.grantConnect(this.searchFunction);
    embeddingModel.grantInvoke(this.searchFunction);

    this.slackEventsFunction = new TrisearchFunction(this, "SlackEvents", {
      handlerName: "slack-events",
      description: "POST /slack/events: verify the Slack signature, enqueue, ack within 3 s",
      vpc: props.vpc,
      timeout: Duration.seconds(10),
    });
    pipeline.grantEnqueueIngest(this.slackEventsFunction);
    props.slackSigningSecret.grantRead(this.slackEventsFunction);
    this.slackEventsFunction.addEnvironment("SLACK_SIGNING_SECRET_ARN", props.slackSigningSecret.secretArn);

    const authorizer =
      props.auth.mode === "iam"
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer("JwtAuthorizer", props.auth.issuer, { jwtAudience: props.auth.audience });

    this.httpApi = new apigwv2.HttpApi(this, "HttpApi", {
      description: "Trisearch: hybrid search over team messages",
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage("Stage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            caller: "$context.identity.caller",
            user: "$context.identity.user",
            requestTime: "$context.requestTime",
            routeKey: "$context.routeKey",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latencyMs: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
          }),
        ),
      },
    });

    const ingest = new HttpLambdaIntegration("IngestIntegration", this.ingestFunction);
    const search = new HttpLambdaIntegration("SearchIntegration", this.searchFunction);
    const slack = new HttpLambdaIntegration("SlackIntegration", this.slackEventsFunction);
    const M = apigwv2.HttpMethod;
    this.httpApi.addRoutes({ path: "/messages", methods: [M.POST], integration: ingest, authorizer });
    this.httpApi.addRoutes({ path: "/messages/{id}", methods: [M.DELETE], integration: ingest, authorizer });
    this.httpApi.addRoutes({ path: "/search", methods: [M.GET, M.POST], integration: search, authorizer });
    const [slackRoute] = this.httpApi.addRoutes({
      path: "/slack/events",
      methods: [M.POST],
      integration: slack,
    });
    suppressNag(slackRoute!, [
      {
        id: "AwsSolutions-APIG4",
        reason:
          "Slack cannot send IAM or JWT credentials: the function verifies Slack's HMAC signature and timestamp",
      },
    ]);
  }

  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
