import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as efs from "aws-cdk-lib/aws-efs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { suppressNag } from "./nag";
import { REPO_ROOT, type TrisearchFunction } from "./trisearch-function";

export interface ChromaServiceProps {
  readonly vpc: ec2.IVpc;
  /**
   * An ECR repository in this account/region that already holds the Chroma server image (a mirror
   * you maintain), with `imageTag`. Unset (the default): the stack builds docker/chroma/Dockerfile
   * for arm64 during `cdk deploy` (a DockerImageAsset), so no manual push can be missing.
   */
  readonly imageRepositoryName?: string;
  readonly imageTag?: string;
  readonly collectionName?: string;
  readonly cpu?: number;
  readonly memoryLimitMiB?: number;
  readonly removalPolicy?: RemovalPolicy;
  /** EFS automatic backups (AWS Backup keeps their recovery points after the file system is gone). */
  readonly automaticBackups?: boolean;
}

const CHROMA_PORT = 8000;
/** The image the stack builds: docker/chroma/Dockerfile (FROM the Chroma version the tests run). */
export const CHROMA_IMAGE_DIR = path.join(REPO_ROOT, "docker", "chroma");
/** That version (the Dockerfile's FROM tag; test/infra/chroma-image.test.ts checks it). */
export const CHROMA_VERSION = "1.0.0";
const LISTENER_PORT = 80;

/**
 * The Chroma server on ECS Fargate with its data on encrypted EFS. One task only: Chroma keeps a
 * single-writer SQLite + HNSW store, so a deploy stops the old task before starting the new one.
 * An internal ALB (health-checked on the heartbeat) is the only way in, and it admits bound
 * functions only.
 */
export class ChromaService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly fileSystem: efs.FileSystem;
  /** The load balancer's target group (the Chroma task): its host counts feed the alarms. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly collectionName: string;

  constructor(scope: Construct, id: string, props: ChromaServiceProps) {
    super(scope, id);
    this.collectionName = props.collectionName ?? "messages";
    const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    const cluster = new ecs.Cluster(this, "Cluster", {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.fileSystem = new efs.FileSystem(this, "Data", {
      vpc: props.vpc,
      vpcSubnets: isolated,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      enableAutomaticBackups: props.automaticBackups ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const accessPoint = this.fileSystem.addAccessPoint("ChromaAccessPoint", {
      path: "/chroma",
      createAcl: { ownerUid: "1000", ownerGid: "1000", permissions: "750" },
      posixUser: { uid: "1000", gid: "1000" },
    });

    const taskDefinition = new ecs.FargateTaskDefinition(this, "Task", {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [
        {
          name: "data",
          efsVolumeConfiguration: {
            fileSystemId: this.fileSystem.fileSystemId,
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: "ENABLED" },
          },
        },
      ],
    });
    this.fileSystem.grantReadWrite(taskDefinition.taskRole);

    const image = props.imageRepositoryName
      ? ecs.ContainerImage.fromEcrRepository(
          ecr.Repository.fromRepositoryName(this, "ImageRepo", props.imageRepositoryName),
          props.imageTag ?? CHROMA_VERSION,
        )
      : ecs.ContainerImage.fromDockerImageAsset(
          new ecrAssets.DockerImageAsset(this, "Image", {
            directory: CHROMA_IMAGE_DIR,
            // Fargate runs ARM64 (runtimePlatform above): an image without an arm64 variant fails
            // the asset build, before CloudFormation changes anything.
            platform: ecrAssets.Platform.LINUX_ARM64,
          }),
        );
    const container = taskDefinition.addContainer("chroma", {
      image,
      portMappings: [{ containerPort: CHROMA_PORT }],
      environment: { ANONYMIZED_TELEMETRY: "FALSE" },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: "chroma",
        logGroup: new logs.LogGroup(this, "Logs", {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      }),
    });
    // The image's default persist path.
    container.addMountPoints({ containerPath: "/data", sourceVolume: "data", readOnly: false });

    this.service = new ecs.FargateService(this, "Service", {
      cluster,
      taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      assignPublicIp: false,
      vpcSubnets: isolated,
      circuitBreaker: { rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });
    suppressNag(taskDefinition, [
      {
        id: "AwsSolutions-ECS2",
        reason: "The only variable is ANONYMIZED_TELEMETRY=FALSE: configuration, not a secret",
      },
      {
        id: "AwsSolutions-IAM5",
        reason: "ecr:GetAuthorizationToken has no resource scope (execution role, image pull)",
      },
    ]);
    this.fileSystem.connections.allowDefaultPortFrom(this.service, "Chroma task to EFS");

    const albSg = new ec2.SecurityGroup(this, "LbSg", {
      vpc: props.vpc,
      description: "Trisearch Chroma internal load balancer (from bound functions only)",
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "Lb", {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: isolated,
      securityGroup: albSg,
      dropInvalidHeaderFields: true,
    });
    suppressNag(this.loadBalancer, [
      {
        id: "AwsSolutions-ELB2",
        reason:
          "Internal-only ALB in front of one Chroma task, called by the functions that log each request",
      },
    ]);
    const listener = this.loadBalancer.addListener("Http", {
      port: LISTENER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // Only bound functions are admitted (see grantConnect); never 0.0.0.0/0.
      open: false,
    });
    this.targetGroup = listener.addTargets("Chroma", {
      port: CHROMA_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      healthCheck: {
        path: "/api/v2/heartbeat",
        healthyHttpCodes: "200",
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
      },
      deregistrationDelay: Duration.seconds(10),
    });
  }

  get url(): string {
    return `http://${this.loadBalancer.loadBalancerDnsName}`;
  }

  readonly vectorStore = "chroma" as const;

  /** The vector store's grant (access.ts): connect to Chroma. */
  grantVectors(fn: TrisearchFunction): void {
    this.grantConnect(fn);
  }

  /** Admits the function at the load balancer and hands it CHROMA_URL/CHROMA_COLLECTION. */
  grantConnect(fn: TrisearchFunction): void {
    this.loadBalancer.connections.allowFrom(fn, ec2.Port.tcp(LISTENER_PORT), `${fn.handlerName} to Chroma`);
    fn.addEnvironment("CHROMA_URL", this.url);
    fn.addEnvironment("CHROMA_COLLECTION", this.collectionName);
  }
}
