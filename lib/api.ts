import { RemovalPolicy } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer, HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { type FunctionName, ROUTES, routeKey } from "../functions/topology";
import { type AccessProviders, constructId, grantAccess, type VectorStoreAccess } from "./access";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import { suppressNag } from "./nag";
import type { Pipeline } from "./pipeline";
import type { SearchDomain } from "./search-domain";
import { TrisearchFunction } from "./trisearch-function";

/**
 * `/messages` and `/search` need IAM (SigV4) callers or a JWT from the configured issuer. With a JWT
 * the viewer a read runs as is the token's `viewerClaim` (default `sub`); IAM callers name it with
 * the `viewer` parameter.
 */
export type ApiAuth =
  | { readonly mode: "iam" }
  | {
      readonly mode: "jwt";
      readonly issuer: string;
      readonly audience: string[];
      readonly viewerClaim?: string;
    };

export interface ApiProps {
  readonly vpc: ec2.IVpc;
  readonly auth: ApiAuth;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  /** Where vectors live (Chroma or the k-NN index): what the "vectors" access grants. */
  readonly vectors: VectorStoreAccess;
  readonly embeddingModel: EmbeddingModel;
  readonly pipeline: Pipeline;
  readonly slackSigningSecret: secretsmanager.ISecret;
  /** Signs search cursors (HMAC): created by the stack, read by every function that searches. */
  readonly cursorSecret: secretsmanager.ISecret;
  /** Steady-state requests per second for the whole stage. */
  readonly throttleRateLimit?: number;
  readonly throttleBurstLimit?: number;
  /** The hosted search page, for the slash command's "More results" button (none: no button). */
  readonly searchPageUrl?: string | undefined;
  /** A read without a viewer sees every conversation (SEARCH_ALLOW_UNSCOPED): default false. */
  readonly allowUnscopedSearch?: boolean;
}

/**
 * The HTTP API: the routes of functions/topology.ts ROUTES, one function per function name there.
 * "caller" routes are behind the authorizer; "none" routes (POST /slack/events) are open at the
 * gateway because their callers cannot sign with IAM or a JWT: the function checks its own credential.
 */
export class Api extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  /** One function per function name in the topology's ROUTES. */
  readonly functions: Partial<Record<FunctionName, TrisearchFunction>> = {};
  /** Signs search cursors (HMAC), so a client cannot forge an offset or window. */
  readonly cursorSecret: secretsmanager.ISecret;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.cursorSecret = props.cursorSecret;
    const providers: AccessProviders = {
      database: props.database,
      searchDomain: props.searchDomain,
      vectors: props.vectors,
      embeddingModel: props.embeddingModel,
      jobs: props.pipeline,
      slackSigningSecret: props.slackSigningSecret,
      cursorSecret: this.cursorSecret,
    };
    for (const name of new Set(ROUTES.map((r) => r.function))) {
      const fn = new TrisearchFunction(this, constructId(name), {
        handlerName: name,
        vpc: props.vpc,
        vectorStore: props.vectors.vectorStore,
      });
      grantAccess(fn, providers);
      this.functions[name] = fn;
    }
    if (props.searchPageUrl)
      this.function("slack-commands").addEnvironment("SEARCH_PAGE_URL", props.searchPageUrl);
    // The viewer rule of every function behind the authorizer (README "Permissions"): who the
    // viewer is, and whether a read without one is refused (the default) or unscoped.
    for (const name of new Set(ROUTES.filter((r) => r.auth === "caller").map((r) => r.function))) {
      const fn = this.function(name);
      fn.addEnvironment("SEARCH_ALLOW_UNSCOPED", props.allowUnscopedSearch ? "true" : "false");
      fn.addEnvironment(
        "SEARCH_VIEWER_CLAIM",
        props.auth.mode === "jwt" ? (props.auth.viewerClaim ?? "sub") : "sub",
      );
    }

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

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${constructId(name)}Integration`, this.function(name));
        integrations.set(name, integration);
      }
      return integration;
    };
    for (const route of ROUTES) {
      const [added] = this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method as apigwv2.HttpMethod],
        integration: integrationFor(route.function),
        ...(route.auth === "caller" ? { authorizer } : {}),
      });
      if (route.auth === "none") {
        suppressNag(added!, [
          {
            id: "AwsSolutions-APIG4",
            reason:
              route.function === "search-page"
                ? `${routeKey(route)}: a static page that holds no data; its searches go through the authorized GET /search`
                : `${routeKey(route)}: its callers cannot send IAM or JWT credentials; ${route.function} checks their own (Slack's HMAC signature and timestamp)`,
          },
        ]);
      }
    }
  }

  /** The function serving a route of the topology. */
  function(name: FunctionName): TrisearchFunction {
    const fn = this.functions[name];
    if (!fn) throw new Error(`no API route is served by ${name}`);
    return fn;
  }

  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
