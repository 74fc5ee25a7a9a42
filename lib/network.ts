import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export interface NetworkProps {
  readonly maxAzs?: number;
  /**
   * AZs that get an ENI per interface endpoint (each costs ~7 USD/month). Default 1: the data plane
   * is single-AZ by default anyway; 2 for a multi-AZ setup.
   */
  readonly endpointAzs?: number;
}

/**
 * A VPC with isolated subnets only: no internet gateway, no NAT. Everything the functions and the
 * Chroma task call leaves through VPC endpoints (listed in `interfaceEndpoints`).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpoint>;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "private", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, "FlowLogs", {
              retention: logs.RetentionDays.ONE_MONTH,
              removalPolicy: RemovalPolicy.DESTROY,
            }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    const endpointSg = new ec2.SecurityGroup(this, "EndpointsSg", {
      vpc: this.vpc,
      description: "Trisearch VPC interface endpoints (HTTPS from inside the VPC)",
      allowAllOutbound: false,
    });
    endpointSg.addIngressRule(ec2.Peer.ipv4(this.vpc.vpcCidrBlock), ec2.Port.tcp(443), "HTTPS from the VPC");

    const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      BedrockRuntime: ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      // The Chroma task pulls its image from ECR (layers come from S3 through the gateway endpoint).
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    };
    this.interfaceEndpoints = {};
    const endpointSubnets = this.vpc.isolatedSubnets.slice(0, Math.max(1, props.endpointAzs ?? 1));
    for (const [name, service] of Object.entries(services)) {
      this.interfaceEndpoints[name] = this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        subnets: { subnets: endpointSubnets },
        securityGroups: [endpointSg],
        open: false,
      });
    }
    this.vpc.addGatewayEndpoint("S3", { service: ec2.GatewayVpcEndpointAwsService.S3 });
  }
}
