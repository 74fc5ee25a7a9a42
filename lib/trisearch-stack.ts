import { CfnOutput, CfnResource, RemovalPolicy, SecretValue, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import type { VectorStoreAccess } from "./access";
import { Api, type ApiAuth } from "./api";
import { ChromaService } from "./chroma-service";
import { Database } from "./database";
import { EmbeddingModel } from "./embedding-model";
import { suppressCdkInternalProviders, suppressNag } from "./nag";
import { Network } from "./network";
import { Observability } from "./observability";
import { serveTrafficAfter } from "./ordering";
import { Pipeline } from "./pipeline";
import { Schedules } from "./schedules";
import { SearchDomain } from "./search-domain";
import { deletionProtectionOf, parseSettings, type TrisearchSettings } from "./settings";
import type { TrisearchFunction } from "./trisearch-function";

export interface TrisearchStackProps extends StackProps {
  readonly settings?: TrisearchSettings;
}

/** Composes one construct per concern; the constructs' grant/bind methods do all the wiring. */
export class TrisearchStack extends Stack {
  readonly settings: TrisearchSettings;
  readonly network: Network;
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  /** Only with vectorStore=chroma (the default); with opensearch the search domain holds the vectors. */
  readonly chroma: ChromaService | undefined;
  readonly vectors: VectorStoreAccess;
  readonly embeddingModel: EmbeddingModel;
  readonly pipeline: Pipeline;
  readonly api: Api;
  readonly schedules: Schedules;
  readonly observability: Observability;
  readonly slackSigningSecret: secretsmanager.Secret;
  /** The Slack app's bot token; blank until put (the resync skips while it is). */
  readonly slackBotToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: TrisearchStackProps = {}) {
    super(scope, id, props);
    const s = props.settings ?? parseSettings();
    this.settings = s;
    // removalPolicy=destroy (a dev stack): `cdk destroy` leaves nothing that bills (README "Teardown").
    const destroyData = s.removalPolicy === "destroy";
    const dataRemoval = destroyData ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.network = new Network(this, "Network", { endpointAzs: s.vpcEndpointAzs });
    const vpc = this.network.vpc;

    this.database = new Database(this, "Database", {
      vpc,
      deletionProtection: deletionProtectionOf(s),
      removalPolicy: dataRemoval,
      multiAz: s.multiAz,
      instanceType: new ec2.InstanceType(s.dbInstanceType),
      secretsManagerEndpoint: this.network.interfaceEndpoints.SecretsManager!,
    });
    this.searchDomain = new SearchDomain(this, "Search", {
      vpc,
      instanceType: s.openSearchInstanceType,
      dataNodes: s.openSearchDataNodes,
      removalPolicy: dataRemoval,
      createServiceLinkedRole: s.createOpenSearchServiceLinkedRole,
    });
    this.chroma =
      s.vectorStore === "chroma"
        ? new ChromaService(this, "Chroma", {
            vpc,
            imageRepositoryName: s.chromaImageRepository,
            imageTag: s.chromaImageTag,
            removalPolicy: dataRemoval,
            automaticBackups: !destroyData,
          })
        : undefined;
    this.vectors = this.chroma ?? this.searchDomain;
    this.embeddingModel = new EmbeddingModel(this, "EmbeddingModel", {
      modelId: s.bedrockModelId,
      dimensions: s.bedrockDimensions as 256 | 512 | 1024,
    });

    // In the stack, not the API: the API's search and the pipeline's slash command search both read it.
    const cursorSecret = new secretsmanager.Secret(this, "CursorSecret", {
      description: "Trisearch: HMAC key of search cursors (generated; only the searching functions read it)",
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    suppressNag(cursorSecret, [
      {
        id: "AwsSolutions-SMG4",
        reason:
          "Rotating it only invalidates outstanding next_cursor values (clients start again from page 1); rotate by putting a new value",
      },
    ]);

    this.slackBotToken = new secretsmanager.Secret(this, "SlackBotToken", {
      description:
        "Trisearch: the Slack app's bot token (xoxb-...): put it after deploy; blank, the membership resync skips",
      // Secrets Manager refuses an empty value; a blank one reads as unset (functions/shared/aws-secrets.ts).
      secretStringValue: SecretValue.unsafePlainText(" "),
    });
    suppressNag(this.slackBotToken, [
      {
        id: "AwsSolutions-SMG4",
        reason: "Issued by Slack when the app is installed: rotated in the Slack app settings, then put here",
      },
    ]);

    this.pipeline = new Pipeline(this, "Pipeline", {
      cursorSecret,
      slackBotToken: this.slackBotToken,
      importBucketRemoval: dataRemoval,
      vpc,
      database: this.database,
      searchDomain: this.searchDomain,
      vectors: this.vectors,
      embeddingModel: this.embeddingModel,
      maxConcurrency: {
        keyword: s.keywordMaxConcurrency,
        vector: s.embedderMaxConcurrency,
        ingest: s.ingestMaxConcurrency,
      },
    });

    // The gaps digest: the schedule queues it, slack-reply posts it with the bot token.
    if (s.gapsDigestChannel)
      this.pipeline.scheduled.gaps.addEnvironment("GAPS_DIGEST_CHANNEL", s.gapsDigestChannel);

    this.slackSigningSecret = new secretsmanager.Secret(this, "SlackSigningSecret", {
      description:
        "Trisearch: the Slack app's signing secret (replace the generated placeholder after deploy)",
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    suppressNag(this.slackSigningSecret, [
      {
        id: "AwsSolutions-SMG4",
        reason: "Issued by Slack: it is rotated in the Slack app settings, then pasted here",
      },
    ]);

    const auth: ApiAuth =
      s.authMode === "jwt"
        ? { mode: "jwt", issuer: s.jwtIssuer!, audience: s.jwtAudience!, viewerClaim: s.jwtViewerClaim }
        : { mode: "iam" };
    this.api = new Api(this, "Api", {
      vpc,
      auth,
      database: this.database,
      searchDomain: this.searchDomain,
      vectors: this.vectors,
      embeddingModel: this.embeddingModel,
      pipeline: this.pipeline,
      slackSigningSecret: this.slackSigningSecret,
      throttleRateLimit: s.apiRateLimit,
      throttleBurstLimit: s.apiBurstLimit,
      searchPageUrl: s.searchPageUrl,
      allowUnscopedSearch: s.allowUnscopedSearch,
      cursorSecret,
    });

    this.schedules = new Schedules(this, "Schedules", { targets: this.pipeline.scheduled });

    this.observability = new Observability(this, "Observability", {
      workQueues: this.pipeline.workQueues,
      functions: this.functions,
      api: this.api,
      alarmEmail: s.alarmEmail,
      keyRemoval: dataRemoval,
      dataStores: { database: this.database, searchDomain: this.searchDomain, chroma: this.chroma },
    });

    suppressCdkInternalProviders(this);
    // CDK keeps the log groups it creates for its own providers (cdk.json's useCdkManagedLogGroup:
    // the OpenSearch log-policy provider's, two years); a dev stack leaves none behind.
    if (destroyData) {
      for (const c of this.node.findAll())
        if (c instanceof CfnResource && c.cfnResourceType === "AWS::Logs::LogGroup")
          c.applyRemovalPolicy(RemovalPolicy.DESTROY);
    }
    // Consumers, schedules and routes start only once the migrations have run.
    serveTrafficAfter(this, this.database.migrationTrigger);

    new CfnOutput(this, "ApiUrl", { value: this.api.url });
    new CfnOutput(this, "SlackEventsUrl", { value: `${this.api.url}/slack/events` });
    new CfnOutput(this, "SlackCommandsUrl", { value: `${this.api.url}/slack/commands` });
    new CfnOutput(this, "SlackSigningSecretArn", { value: this.slackSigningSecret.secretArn });
    new CfnOutput(this, "SlackBotTokenArn", { value: this.slackBotToken.secretArn });
    new CfnOutput(this, "ImportBucketName", { value: this.pipeline.importBucket.bucketName });
    new CfnOutput(this, "DashboardName", { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.observability.topic.topicArn });
  }

  /** Every function of the system (the migration function included). */
  get functions(): TrisearchFunction[] {
    return [
      ...Object.values(this.api.functions),
      ...this.pipeline.workQueues.map((q) => q.consumer),
      ...Object.values(this.pipeline.scheduled),
      this.database.migrationFunction,
    ];
  }
}
