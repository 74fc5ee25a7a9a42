import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as rds from "aws-cdk-lib/aws-rds";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
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
  /** The Secrets Manager interface endpoint: the rotation functions run in the isolated subnets. */
  readonly secretsManagerEndpoint: ec2.IInterfaceVpcEndpoint;
  /** Days between automatic rotations of every database secret. Default 30. */
  readonly rotationDays?: number;
}

/** How a function connects (README "Database roles"; the topology's database-* access). */
export type DatabaseAccess = "read" | "write" | "owner";

/** The login users the migrate function creates in the group roles of migrations/*_database-roles.sql. */
const DATABASE_LOGINS = { read: "trisearch_search", write: "trisearch_app" } as const;

const DATABASE_NAME = "trisearch";
/** Characters that would need escaping in a connection URL are left out of generated passwords. */
const EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

/** The SQL files are read at run time, so they travel next to index.mjs in the migration bundle. */
export const MIGRATIONS_AFTER_BUNDLING = (inputDir: string, outputDir: string): string[] => [
  `cp -r "${inputDir}/migrations" "${outputDir}/migrations"`,
];

/**
 * RDS PostgreSQL 16 in isolated subnets behind RDS Proxy (Lambda bursts reuse a few pooled
 * connections). Credentials live in Secrets Manager; functions get the secret ARN and the proxy
 * endpoint, and build DATABASE_URL at cold start (functions/shared/aws-secrets.ts). Three users,
 * least privilege: the master user owns the schema and only the migrate function connects as it;
 * the search functions connect as a reader, every other function as a writer (bind()). Every
 * secret rotates: the master with the single-user rotation application, the reader and writer
 * with the multi-user one (it alternates between the user and a `_clone`, so a function holding
 * the previous password keeps working until its next cold start).
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly proxy: rds.DatabaseProxy;
  readonly migrationFunction: TrisearchFunction;
  readonly migrationTrigger: triggers.Trigger;
  /** The reader's and the writer's credentials (the master's is `instance.secret`). */
  readonly readerSecret: secretsmanager.ISecret;
  readonly writerSecret: secretsmanager.ISecret;
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
        excludeCharacters: EXCLUDE_CHARACTERS,
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
              reason:
                "Off only when asked for: removalPolicy=destroy (a dev stack that cdk destroy must remove) or deletionProtection=false",
            },
          ]),
    ]);
    const loginSecret = (id: string, username: string) =>
      new rds.DatabaseSecret(this, id, {
        username,
        // The multi-user rotation logs in as the master user to set the password or create the clone.
        masterSecret: this.instance.secret!,
        dbname: DATABASE_NAME,
        excludeCharacters: EXCLUDE_CHARACTERS,
      }).attach(this.instance);
    this.readerSecret = loginSecret("ReaderSecret", DATABASE_LOGINS.read);
    this.writerSecret = loginSecret("WriterSecret", DATABASE_LOGINS.write);

    // The rotation functions (Serverless Application Repository) run in the isolated subnets, reach
    // Secrets Manager through its endpoint and PostgreSQL directly (each gets an ingress rule).
    const rotation = {
      automaticallyAfter: Duration.days(props.rotationDays ?? 30),
      endpoint: props.secretsManagerEndpoint,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    };
    this.instance.addRotationSingleUser(rotation);
    this.instance.addRotationMultiUser("ReaderRotation", { ...rotation, secret: this.readerSecret });
    this.instance.addRotationMultiUser("WriterRotation", { ...rotation, secret: this.writerSecret });

    this.proxy = this.instance.addProxy("Proxy", {
      secrets: [this.instance.secret!, this.readerSecret, this.writerSecret],
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
    this.bind(this.migrationFunction, "owner");
    // It creates (or re-passwords) the reader and writer users in their roles after the migrations.
    for (const [env, secret] of [
      ["DB_READER_SECRET_ARN", this.readerSecret],
      ["DB_WRITER_SECRET_ARN", this.writerSecret],
    ] as const) {
      secret.grantRead(this.migrationFunction);
      this.migrationFunction.addEnvironment(env, secret.secretArn);
    }
    // A custom resource invokes the function after the proxy exists; a failed migration fails the deploy.
    // The asset hash covers the copied SQL files, so a new migration re-runs it.
    this.migrationTrigger = new triggers.Trigger(this, "MigrateOnDeploy", {
      handler: this.migrationFunction,
      // The instance resource, not the construct: its children include the rotations, which wait for this.
      executeAfter: [this.instance.node.defaultChild!, this.proxy],
      executeOnHandlerChange: true,
      timeout: Duration.minutes(5),
    });
    // And after what its one run needs on a first deploy: the Secrets Manager endpoint (the cold
    // start reads the secrets through it) and the security groups' rules (function -> proxy ->
    // instance). Nothing orders these before the trigger otherwise.
    this.migrationTrigger.node.addDependency(props.secretsManagerEndpoint, this.proxySecurityGroup, dbSg);
    // Secrets Manager rotates as soon as rotation is on: only after the migrations (the multi-user
    // rotation logs in as the reader or writer, which the migrate function creates; a master
    // rotated mid-migration would fail it).
    for (const schedule of [this.instance.secret!, this.readerSecret, this.writerSecret].flatMap((secret) =>
      secret.node.findAll().filter((c) => c instanceof secretsmanager.RotationSchedule),
    ))
      schedule.node.addDependency(this.migrationTrigger);
  }

  /**
   * Lets a function reach the proxy and read the credentials of its user (`access`: the reader,
   * the writer or the owner); sets DB_SECRET_ARN/DB_HOST/DB_PORT/DB_NAME.
   */
  bind(fn: TrisearchFunction, access: DatabaseAccess): void {
    const secret = { read: this.readerSecret, write: this.writerSecret, owner: this.instance.secret! }[
      access
    ];
    secret.grantRead(fn);
    this.proxySecurityGroup.connections.allowFrom(fn, ec2.Port.tcp(5432), `${fn.handlerName} to RDS Proxy`);
    fn.addEnvironment("DB_SECRET_ARN", secret.secretArn);
    fn.addEnvironment("DB_HOST", this.proxy.endpoint);
    fn.addEnvironment("DB_PORT", "5432");
    fn.addEnvironment("DB_NAME", DATABASE_NAME);
  }
}
