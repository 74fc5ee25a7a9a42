import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as rds from "aws-cdk-lib/aws-rds";
import * as triggers from "aws-cdk-lib/triggers";
import { Construct } from "constructs";
import { suppressNag } from "./nag";
import { TrisearchFunction } from "./trisearch-function";

export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Protects the instance from deletion (and snapshots it on stack delete). Default true. */
  readonly deletionProtection?: boolean;
  readonly instanceType?: ec2.InstanceType;
  readonly multiAz?: boolean;
  readonly backupRetention?: Duration;
  readonly allocatedStorageGiB?: number;
  /** Default: SNAPSHOT when deletion-protected, else DESTROY (automated backups deleted too). */
  readonly removalPolicy?: RemovalPolicy;
}

const DATABASE_NAME = "trisearch";

/** The SQL files are read at run time, so they travel next to index.mjs in the migration bundle. */
export const MIGRATIONS_AFTER_BUNDLING = (inputDir: string, outputDir: string): string[] => [
  `cp -r "${inputDir}/migrations" "${outputDir}/migrations"`,
];

/**
 * RDS PostgreSQL 16 in isolated subnets behind RDS Proxy (Lambda bursts reuse a few pooled
 * connections). Credentials live in Secrets Manager; functions get the secret ARN and the proxy
 * endpoint, and build DATABASE_URL at cold start (functions/shared/aws-secrets.ts).
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly proxy: rds.DatabaseProxy;
  readonly migrationFunction: TrisearchFunction;
  readonly migrationTrigger: triggers.Trigger;
  /** Admits exactly the functions passed to bind(). */
  readonly proxySecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const deletionProtection = props.deletionProtection ?? true;
    const removalPolicy =
      props.removalPolicy ?? (deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY);
    // Retained data keeps a final snapshot; a destroyed (dev) database leaves no snapshot or backup.
    const instanceRemoval = removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.SNAPSHOT : removalPolicy;

    const dbSg = new ec2.SecurityGroup(this, "InstanceSg", {
      vpc: props.vpc,
      description: "Trisearch PostgreSQL (from RDS Proxy only)",
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, "ProxySg", {
      vpc: props.vpc,
      description: "Trisearch RDS Proxy (from the functions only)",
      allowAllOutbound: false,
    });
    dbSg.addIngressRule(this.proxySecurityGroup, ec2.Port.tcp(5432), "RDS Proxy to PostgreSQL");
    this.proxySecurityGroup.addEgressRule(dbSg, ec2.Port.tcp(5432), "RDS Proxy to PostgreSQL");

    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    this.instance = new rds.DatabaseInstance(this, "Instance", {
      engine,
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [dbSg],
      publiclyAccessible: false,
      databaseName: DATABASE_NAME,
      // Characters that would need escaping in a connection URL are left out of the password.
      credentials: rds.Credentials.fromGeneratedSecret("trisearch", {
        excludeCharacters: " %+~`#$&*()|[]{}:;<>?!'/@\"\\",
      }),
      storageEncrypted: true,
      allocatedStorage: props.allocatedStorageGiB ?? 20,
      maxAllocatedStorage: 100,
      storageType: rds.StorageType.GP3,
      multiAz: props.multiAz ?? false,
      backupRetention: props.backupRetention ?? Duration.days(7),
      deletionProtection,
      removalPolicy: instanceRemoval,
      deleteAutomatedBackups: instanceRemoval === RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ["postgresql"],
      parameterGroup: new rds.ParameterGroup(this, "Params", {
        engine,
        // TLS is required end to end (the proxy enforces it towards clients too).
        parameters: { "rds.force_ssl": "1" },
      }),
    });

    suppressNag(this.instance, [
      {
        id: "AwsSolutions-RDS6",
        reason: "Clients connect through RDS Proxy with the Secrets Manager credentials",
      },
      {
        id: "AwsSolutions-RDS11",
        reason: "Isolated subnets, admitted from the proxy's security group only: the port hides nothing",
      },
      ...(props.multiAz
        ? []
        : [
            {
              id: "AwsSolutions-RDS3",
              reason: "Single-AZ by default (small team, cost); set multiAz=true for a standby",
            },
          ]),
      ...(deletionProtection
        ? []
        : [
            {
              id: "AwsSolutions-RDS10",
              reason: "deletionProtection=false was chosen explicitly (throwaway environments)",
            },
          ]),
    ]);
    // `instance.secret` is the target attachment; the secret itself is the instance's child.
    suppressNag(this.instance, [
      {
        id: "AwsSolutions-SMG4",
        reason: "Rotation is a follow-up: it needs the hosted rotation function in this VPC",
      },
    ]);

    this.proxy = this.instance.addProxy("Proxy", {
      secrets: [this.instance.secret!],
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.proxySecurityGroup],
      requireTLS: true,
      iamAuth: false,
    });

    this.migrationFunction = new TrisearchFunction(this, "Migrate", {
      handlerName: "migrate",
      vpc: props.vpc,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: MIGRATIONS_AFTER_BUNDLING,
      },
    });
    this.bind(this.migrationFunction);
    // A custom resource invokes the function after the proxy exists; a failed migration fails the deploy.
    // The asset hash covers the copied SQL files, so a new migration re-runs it.
    this.migrationTrigger = new triggers.Trigger(this, "MigrateOnDeploy", {
      handler: this.migrationFunction,
      executeAfter: [this.instance, this.proxy],
      executeOnHandlerChange: true,
      timeout: Duration.minutes(5),
    });
  }

  /** Lets a function reach the proxy and read the credentials; sets DB_SECRET_ARN/DB_HOST/DB_PORT/DB_NAME. */
  bind(fn: TrisearchFunction): void {
    this.instance.secret!.grantRead(fn);
    this.proxySecurityGroup.connections.allowFrom(fn, ec2.Port.tcp(5432), `${fn.handlerName} to RDS Proxy`);
    fn.addEnvironment("DB_SECRET_ARN", this.instance.secret!.secretArn);
    fn.addEnvironment("DB_HOST", this.proxy.endpoint);
    fn.addEnvironment("DB_PORT", "5432");
    fn.addEnvironment("DB_NAME", DATABASE_NAME);
  }
}
