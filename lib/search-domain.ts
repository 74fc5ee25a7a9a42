import { RemovalPolicy, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as opensearch from "aws-cdk-lib/aws-opensearchservice";
import { Construct } from "constructs";
import type { VectorStoreAccess } from "./access";
import { suppressNag } from "./nag";
import type { TrisearchFunction } from "./trisearch-function";

export interface SearchDomainProps {
  readonly vpc: ec2.IVpc;
  readonly indexName?: string;
  /** The k-NN vector index's base name (vectorStore=opensearch). */
  readonly vectorIndexName?: string;
  readonly instanceType?: string;
  readonly dataNodes?: number;
  readonly volumeSizeGiB?: number;
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Create the service-linked role `AWSServiceRoleForAmazonOpenSearchService` that a VPC domain
   * needs (a fresh account has none; creating it twice fails, so turn this off where it exists).
   */
  readonly createServiceLinkedRole?: boolean;
}

/**
 * OpenSearch 2.19 inside the VPC: HTTPS only (TLS 1.2), encrypted at rest and node to node. Its
 * domain policy admits this account's IAM principals only, so a call passes when it is SigV4-signed
 * by a role granted es:ESHttp* here (the functions' roles), and only functions bound here are
 * admitted by its security group.
 */
export class SearchDomain extends Construct implements VectorStoreAccess {
  readonly domain: opensearch.Domain;
  readonly indexName: string;
  readonly vectorIndexName: string;
  private readonly dataNodes: number;
  readonly vectorStore = "opensearch" as const;
  readonly serviceLinkedRole?: iam.CfnServiceLinkedRole;
  private readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SearchDomainProps) {
    super(scope, id);
    this.indexName = props.indexName ?? "messages";
    this.vectorIndexName = props.vectorIndexName ?? "message-vectors";
    const dataNodes = props.dataNodes ?? 1;
    this.dataNodes = dataNodes;
    this.securityGroup = new ec2.SecurityGroup(this, "Sg", {
      vpc: props.vpc,
      description: "Trisearch OpenSearch (HTTPS from bound functions only)",
      allowAllOutbound: false,
    });
    const subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnets;
    const logGroup = (name: string) =>
      new logs.LogGroup(this, name, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    this.domain = new opensearch.Domain(this, "Domain", {
      version: opensearch.EngineVersion.OPENSEARCH_2_19,
      vpc: props.vpc,
      // A single-node domain lives in one subnet; more nodes spread over two AZs.
      vpcSubnets: [{ subnets: dataNodes > 1 ? subnets.slice(0, 2) : subnets.slice(0, 1) }],
      securityGroups: [this.securityGroup],
      capacity: {
        dataNodes,
        dataNodeInstanceType: props.instanceType ?? "t3.small.search",
        multiAzWithStandbyEnabled: false,
      },
      zoneAwareness: dataNodes > 1 ? { enabled: true, availabilityZoneCount: 2 } : { enabled: false },
      ebs: { volumeSize: props.volumeSizeGiB ?? 10, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      encryptionAtRest: { enabled: true },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: logGroup("SlowSearchLogs"),
        slowIndexLogEnabled: true,
        slowIndexLogGroup: logGroup("SlowIndexLogs"),
        appLogEnabled: true,
        appLogGroup: logGroup("AppLogs"),
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Only this account's IAM principals, and of those only roles granted es:ESHttp* (grant* below).
      accessPolicies: [
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: ["es:ESHttp*"],
          resources: [Stack.of(this).formatArn({ service: "es", resource: "domain", resourceName: "*" })],
        }),
      ],
    });
    if (props.createServiceLinkedRole ?? true) {
      this.serviceLinkedRole = new iam.CfnServiceLinkedRole(this, "ServiceLinkedRole", {
        awsServiceName: "opensearchservice.amazonaws.com",
        description: "Trisearch: lets OpenSearch Service place the domain's interfaces in the VPC",
      });
      // Kept on stack deletion: it is free, account-wide, and other domains may rely on it.
      this.serviceLinkedRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.domain.node.addDependency(this.serviceLinkedRole);
    }
    suppressNag(this.domain, [
      {
        id: "AwsSolutions-OS3",
        reason:
          "VPC-only; the domain policy admits this account's IAM principals, so only SigV4 calls by roles granted es:ESHttp* pass (no IP allowlist needed)",
      },
      {
        id: "AwsSolutions-OS4",
        reason: "Small-team sizing: 1-2 data nodes; dedicated masters triple the cost for no gain",
      },
      ...(dataNodes > 1
        ? []
        : [
            {
              id: "AwsSolutions-OS7",
              reason: "Single data node by default (cost); set openSearchDataNodes>=2 for two AZs",
            },
          ]),
      {
        id: "AwsSolutions-IAM5",
        reason: "CDK custom resource that sets the log groups' resource policy (logs:PutResourcePolicy)",
      },
    ]);
  }

  /** HTTPS URL of the domain endpoint. */
  get url(): string {
    return `https://${this.domain.domainEndpoint}`;
  }

  /** Search and count on the index (the search function, the reconciler). */
  grantIndexRead(fn: TrisearchFunction): void {
    this.bind(fn);
    this.grant(fn, ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"], this.indexPaths());
  }

  /** Create the index, `_bulk` writes and deletes (the keyword indexer). */
  grantIndexWrite(fn: TrisearchFunction): void {
    this.bind(fn);
    this.grant(
      fn,
      ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
      this.indexPaths(),
    );
    // `_bulk` without an index in the path (the adapter names the index per item).
    this.grant(fn, ["es:ESHttpPost", "es:ESHttpPut"], [`${this.domain.domainArn}/_bulk`]);
    // The index's template, which the adapter puts beside the index (indexTemplateName in
    // opensearch-keyword-index.ts; test/infra checks the two agree). The client puts it by POST.
    this.grant(
      fn,
      ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
      [`${this.domain.domainArn}/_index_template/${this.indexName}-mapping`],
    );
  }

  /**
   * The vector store's grant with vectorStore=opensearch: the k-NN indexes only (the base index and
   * each model's `<base>__<model>`, their documents, `_bulk`, `_msearch`, `_mget`, `_count`) and
   * their templates (opensearch-vector-index.ts puts `trisearch-vectors-<index>`); never the keyword
   * index. One replica per extra data node, so a node loss keeps every vector searchable.
   */
  grantVectors(fn: TrisearchFunction): void {
    this.connect(fn);
    fn.addEnvironment("OPENSEARCH_AUTH", "sigv4");
    fn.addEnvironment("VECTOR_STORE", "opensearch");
    fn.addEnvironment("OPENSEARCH_VECTOR_URL", this.url);
    fn.addEnvironment("OPENSEARCH_VECTOR_INDEX", this.vectorIndexName);
    fn.addEnvironment("OPENSEARCH_VECTOR_REPLICAS", String(Math.max(0, this.dataNodes - 1)));
    const arn = this.domain.domainArn;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
        resources: [
          `${arn}/${this.vectorIndexName}`,
          `${arn}/${this.vectorIndexName}*`,
          `${arn}/_index_template/trisearch-vectors-${this.vectorIndexName}*`,
        ],
      }),
    );
    suppressNag(fn.role!, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "The k-NN vector indexes (the base one and one per embedding model) and their templates: the wildcard follows the index name, never the whole domain",
        appliesTo: [
          {
            regex: `/^Resource::<.*>\\/(_index_template\\/trisearch-vectors-)?${this.vectorIndexName}\\*$/g`,
          },
        ],
      },
    ]);
  }

  private indexPaths(): string[] {
    return [`${this.domain.domainArn}/${this.indexName}`, `${this.domain.domainArn}/${this.indexName}/*`];
  }

  private grant(fn: TrisearchFunction, actions: string[], resources: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    suppressNag(fn.role!, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Documents of the one Trisearch index: the wildcard is below /<index>/ and never the whole domain",
        appliesTo: [{ regex: `/^Resource::<.*>\\/${this.indexName}\\/\\*$/g` }],
      },
    ]);
  }

  private connect(fn: TrisearchFunction): void {
    // Once per function: the keyword and vector grants may both connect the same one.
    if (this.connected.has(fn)) return;
    this.connected.add(fn);
    this.securityGroup.connections.allowFrom(fn, ec2.Port.tcp(443), `${fn.handlerName} to OpenSearch`);
  }

  private readonly connected = new Set<TrisearchFunction>();

  private bind(fn: TrisearchFunction): void {
    this.connect(fn);
    fn.addEnvironment("OPENSEARCH_URL", this.url);
    fn.addEnvironment("OPENSEARCH_INDEX", this.indexName);
    fn.addEnvironment("OPENSEARCH_AUTH", "sigv4");
  }
}
