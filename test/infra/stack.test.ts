import type { CfnResource } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { indexTemplateName } from "../../functions/adapters/opensearch/opensearch-keyword-index";
import { openApiDocument } from "../../functions/shared/openapi";
import {
  FUNCTIONS,
  type FunctionName,
  memoryOf,
  networkOf,
  QUEUES,
  ROUTES,
  routeKey,
  SCHEDULES,
} from "../../functions/topology";
import { parseSettings } from "../../lib/settings";
import { actionsOf, asArray, resourcesFor, type Synth, statementsOfRole, synthStack } from "./support";

let s: Synth;
beforeAll(() => {
  s = synthStack();
}, 300_000);

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as CfnResource);
const resources = (type: string) => s.template.findResources(type);
const ALL_FUNCTIONS = Object.keys(FUNCTIONS);
const QUEUE_COUNT = Object.keys(QUEUES).length;
/** EventBridge's rate expression for a schedule of the topology. */
const rateOf = (seconds: number) => {
  const minutes = seconds / 60;
  return `rate(${minutes} ${minutes === 1 ? "minute" : "minutes"})`;
};

describe("functions", () => {
  it("has one TrisearchFunction per handler: Node 22, ARM64, in the VPC, own log group, ESM bundle", () => {
    expect(Object.keys(s.fnIds).sort()).toEqual([...ALL_FUNCTIONS].sort());
    const fns = resources("AWS::Lambda::Function");
    for (const [name, id] of Object.entries(s.fnIds)) {
      const p = fns[id]!.Properties;
      expect(p.Runtime, name).toBe("nodejs22.x");
      expect(p.Architectures, name).toEqual(["arm64"]);
      expect(p.Handler, name).toBe("index.handler");
      if (networkOf(name as FunctionName) === "internet") {
        expect(p.VpcConfig, name).toBeUndefined();
      } else {
        expect(p.VpcConfig.SubnetIds.length, name).toBeGreaterThanOrEqual(2);
        expect(p.VpcConfig.SecurityGroupIds, name).toEqual([{ "Fn::GetAtt": [s.sgIds[name], "GroupId"] }]);
      }
      expect(p.LoggingConfig.LogGroup.Ref, name).toMatch(/Logs/);
      expect(p.Environment.Variables.NODE_OPTIONS, name).toBe("--enable-source-maps");
    }
    s.template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: Match.anyValue() });
  });

  it("gives every function its own security group", () => {
    const inVpc = ALL_FUNCTIONS.filter((n) => networkOf(n as FunctionName) === "vpc");
    expect(inVpc).not.toContain("slack-reply");
    expect(new Set(Object.values(s.sgIds)).size).toBe(inVpc.length);
  });
});

describe("queues", () => {
  it("gives every work queue an encrypted DLQ with maxReceiveCount >= 5", () => {
    const queues = resources("AWS::SQS::Queue");
    expect(Object.keys(queues)).toHaveLength(2 * QUEUE_COUNT);
    const work = Object.entries(queues).filter(([, q]) => q.Properties.RedrivePolicy);
    const dlqIds = new Set(Object.keys(queues).filter((id) => !work.some(([w]) => w === id)));
    expect(work).toHaveLength(QUEUE_COUNT);
    for (const [id, q] of work) {
      const redrive = q.Properties.RedrivePolicy;
      expect(redrive.maxReceiveCount, id).toBeGreaterThanOrEqual(5);
      const target = redrive.deadLetterTargetArn["Fn::GetAtt"][0];
      expect(dlqIds.has(target), id).toBe(true);
      expect(queues[target]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
    for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("denies non-TLS access to every queue", () => {
    const policies = Object.values(resources("AWS::SQS::QueuePolicy"));
    const covered = new Set(policies.flatMap((p) => p.Properties.Queues.map((q: { Ref: string }) => q.Ref)));
    expect(covered.size).toBe(2 * QUEUE_COUNT);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      );
    }
  });

  it("has exactly the topology's SQS event sources, each reporting batch item failures with a bounded concurrency", () => {
    const mappings = Object.values(resources("AWS::Lambda::EventSourceMapping"));
    expect(mappings).toHaveLength(QUEUE_COUNT);
    for (const m of mappings) {
      expect(m.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
      expect(m.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
      expect(m.Properties.ScalingConfig.MaximumConcurrency).toBeLessThanOrEqual(5);
    }
    const byFn = Object.fromEntries(mappings.map((m) => [m.Properties.FunctionName.Ref, m.Properties]));
    // OpenSearch and Chroma are small: their writers stay at the minimum by default.
    expect(byFn[s.fnIds["keyword-indexer"]!]!.ScalingConfig.MaximumConcurrency).toBe(
      QUEUES.keyword.maxConcurrency,
    );
    expect(byFn[s.fnIds.embedder!]!.ScalingConfig.MaximumConcurrency).toBe(QUEUES.vector.maxConcurrency);
    expect(byFn[s.fnIds["slack-ingest"]!]).toBeDefined();
  });

  it("sets every consumed queue's visibility timeout to at least 6x its consumer's timeout", () => {
    const queues = resources("AWS::SQS::Queue");
    const fns = resources("AWS::Lambda::Function");
    for (const m of Object.values(resources("AWS::Lambda::EventSourceMapping"))) {
      const queueId = m.Properties.EventSourceArn["Fn::GetAtt"][0];
      const fnTimeout = fns[m.Properties.FunctionName.Ref]!.Properties.Timeout as number;
      const visibility = queues[queueId]!.Properties.VisibilityTimeout as number;
      expect(visibility, queueId).toBeGreaterThanOrEqual(6 * fnTimeout);
    }
  });

  it("wires each queue to its own consumer", () => {
    const p = s.stack.pipeline;
    const pairs = Object.values(resources("AWS::Lambda::EventSourceMapping")).map((m) => [
      m.Properties.EventSourceArn["Fn::GetAtt"][0],
      m.Properties.FunctionName.Ref,
    ]);
    expect(pairs).toEqual(
      expect.arrayContaining([
        [logicalId(p.keyword.queue), s.fnIds["keyword-indexer"]],
        [logicalId(p.vector.queue), s.fnIds.embedder],
        [logicalId(p.ingest.queue), s.fnIds["slack-ingest"]],
      ]),
    );
  });
});

describe("network", () => {
  it("has no internet path: no IGW, NAT or public subnet", () => {
    s.template.resourceCountIs("AWS::EC2::InternetGateway", 0);
    s.template.resourceCountIs("AWS::EC2::NatGateway", 0);
    s.template.resourceCountIs("AWS::EC2::EIP", 0);
    for (const subnet of Object.values(resources("AWS::EC2::Subnet"))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
    s.template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });

  it("reaches SQS, Secrets Manager, Bedrock runtime, CloudWatch Logs and ECR through private endpoints", () => {
    const endpoints = Object.values(resources("AWS::EC2::VPCEndpoint"));
    const names = endpoints.map((e) => JSON.stringify(e.Properties.ServiceName));
    for (const svc of ["sqs", "secretsmanager", "bedrock-runtime", "logs", "ecr.api", "ecr.dkr", "s3"]) {
      expect(
        names.some((n) => n.includes(`.${svc}"`)),
        svc,
      ).toBe(true);
    }
    for (const e of endpoints.filter((e) => e.Properties.VpcEndpointType === "Interface")) {
      expect(e.Properties.PrivateDnsEnabled).toBe(true);
      // One ENI per endpoint by default (cost); vpcEndpointAzs=2 for two.
      expect(e.Properties.SubnetIds).toHaveLength(1);
    }
  });

  it("never admits 0.0.0.0/0 or ::/0", () => {
    const json = JSON.stringify(s.template.toJSON());
    for (const sg of Object.values(resources("AWS::EC2::SecurityGroup"))) {
      for (const rule of asArray(sg.Properties.SecurityGroupIngress as Record<string, unknown>[])) {
        expect(rule.CidrIp).not.toBe("0.0.0.0/0");
        expect(rule.CidrIpv6).not.toBe("::/0");
      }
    }
    for (const rule of Object.values(resources("AWS::EC2::SecurityGroupIngress"))) {
      expect(rule.Properties.CidrIp).toBeUndefined();
    }
    expect(json).not.toContain('"CidrIpv6":"::/0"');
  });
});

/** Security groups admitted by ingress rules on `targetSgId` for `port`. */
function admittedGroups(targetSgId: string, port: number): string[] {
  return Object.values(resources("AWS::EC2::SecurityGroupIngress"))
    .filter((r) => r.Properties.GroupId["Fn::GetAtt"]?.[0] === targetSgId && r.Properties.FromPort === port)
    .map((r) => r.Properties.SourceSecurityGroupId["Fn::GetAtt"][0] as string)
    .sort();
}

const sgOf = (names: string[]) => names.map((n) => s.sgIds[n]!).sort();

describe("data stores are private and admit only the functions bound to them", () => {
  it("RDS: private, encrypted, backed up, deletion-protected, reached through a TLS-only proxy", () => {
    s.template.hasResourceProperties("AWS::RDS::DBInstance", {
      Engine: "postgres",
      EngineVersion: Match.stringLikeRegexp("^16"),
      PubliclyAccessible: false,
      StorageEncrypted: true,
      DeletionProtection: true,
      BackupRetentionPeriod: Match.anyValue(),
    });
    const db = Object.values(resources("AWS::RDS::DBInstance"))[0]!;
    expect(db.Properties.BackupRetentionPeriod).toBeGreaterThanOrEqual(7);
    expect(db.DeletionPolicy).toBe("Snapshot");
    s.template.hasResourceProperties("AWS::RDS::DBParameterGroup", { Parameters: { "rds.force_ssl": "1" } });
    s.template.hasResourceProperties("AWS::RDS::DBProxy", { RequireTLS: true, EngineFamily: "POSTGRESQL" });
    expect(admittedGroups(logicalId(s.stack.database.proxySecurityGroup), 5432)).toEqual(
      sgOf([
        "ingest",
        "search",
        "slack-command-search",
        "slack-ingest",
        "keyword-indexer",
        "embedder",
        "outbox-relay",
        "reconcile",
        "gaps",
        "gaps-schedule",
        "slack-import",
        "migrate",
      ]),
    );
  });

  it("RDS deletion protection is configurable (removal on its own: removalPolicy, test/infra/operations.test.ts)", () => {
    const off = synthStack({ settings: { deletionProtection: "false" } });
    off.template.hasResourceProperties("AWS::RDS::DBInstance", { DeletionProtection: false });
    expect(Object.values(off.template.findResources("AWS::RDS::DBInstance"))[0]!.DeletionPolicy).toBe(
      "Snapshot",
    );
  }, 120_000);

  it("OpenSearch 2.19: in the VPC, encrypted at rest and node to node, HTTPS (TLS 1.2) only, no open policy", () => {
    s.template.hasResourceProperties("AWS::OpenSearchService::Domain", {
      EngineVersion: "OpenSearch_2.19",
      VPCOptions: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: "Policy-Min-TLS-1-2-2019-07" },
      AccessPolicies: Match.absent(),
    });
    const domainSg = Object.values(resources("AWS::OpenSearchService::Domain"))[0]!.Properties.VPCOptions
      .SecurityGroupIds[0]["Fn::GetAtt"][0];
    expect(admittedGroups(domainSg, 443)).toEqual(
      sgOf(["keyword-indexer", "search", "slack-command-search", "reconcile", "gaps-schedule"]),
    );
    // No resource policy means unsigned requests are refused: the clients must sign with their role.
    const fns = resources("AWS::Lambda::Function");
    for (const n of ["keyword-indexer", "search", "reconcile", "gaps-schedule"]) {
      expect(fns[s.fnIds[n]!]!.Properties.Environment.Variables.OPENSEARCH_AUTH, n).toBe("sigv4");
    }
  });

  it("Chroma: Fargate without public IP, encrypted EFS over TLS, internal ALB with a health check", () => {
    s.template.hasResourceProperties("AWS::ECS::Service", {
      LaunchType: "FARGATE",
      DesiredCount: 1,
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: "DISABLED" } },
    });
    s.template.hasResourceProperties("AWS::EFS::FileSystem", { Encrypted: true });
    s.template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RuntimePlatform: { CpuArchitecture: "ARM64" },
      Volumes: [
        Match.objectLike({ EFSVolumeConfiguration: Match.objectLike({ TransitEncryption: "ENABLED" }) }),
      ],
      ContainerDefinitions: [
        Match.objectLike({
          MountPoints: [Match.objectLike({ ContainerPath: "/data" })],
          PortMappings: Match.anyValue(),
        }),
      ],
    });
    s.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { Scheme: "internal" });
    s.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/api/v2/heartbeat",
      Port: 8000,
    });
    const lbSg = logicalId(s.stack.chroma!.loadBalancer.connections.securityGroups[0]!);
    expect(admittedGroups(lbSg, 80)).toEqual(
      sgOf(["embedder", "search", "slack-command-search", "reconcile", "gaps-schedule"]),
    );
  });
});

describe("least privilege", () => {
  const statements = (name: string) => statementsOfRole(s.template, s.roleIds[name]!);

  it("grants no wildcard action and no action on every resource", () => {
    for (const name of ALL_FUNCTIONS) {
      for (const st of statements(name)) {
        for (const a of asArray(st.Action)) expect(a, name).not.toMatch(/^\*$|:\*$/);
        expect(st.Resource, name).not.toBe("*");
      }
    }
  });

  it("only the embedder and search invoke Bedrock, and only the configured Titan v2 model", () => {
    const invokers = ALL_FUNCTIONS.filter((n) =>
      actionsOf(statements(n)).some((a) => a.startsWith("bedrock:")),
    );
    expect(invokers.sort()).toEqual(["embedder", "search", "slack-command-search"]);
    for (const n of invokers) {
      expect(actionsOf(statements(n)).filter((a) => a.startsWith("bedrock:"))).toEqual([
        "bedrock:InvokeModel",
      ]);
      expect(resourcesFor(statements(n), "bedrock:InvokeModel")).toContain(
        ":bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0",
      );
    }
  });

  it("the keyword indexer touches only its queue, the DB secret and the index: no Chroma, no Bedrock, no sending", () => {
    const st = statements("keyword-indexer");
    const actions = actionsOf(st);
    expect(actions.some((a) => a.startsWith("bedrock:"))).toBe(false);
    expect(actions).not.toContain("sqs:SendMessage");
    expect(resourcesFor(st, "sqs:ReceiveMessage")).toBe(
      JSON.stringify([{ "Fn::GetAtt": [logicalId(s.stack.pipeline.keyword.queue), "Arn"] }]),
    );
    expect(resourcesFor(st, "secretsmanager:GetSecretValue")).toBe(
      JSON.stringify([{ Ref: logicalId(s.stack.database.writerSecret) }]),
    );
    expect(resourcesFor(st, "es:ESHttpPut")).toContain("/messages/*");
    // The template the adapter puts beside the index, under the name the adapter gives it.
    // @opensearch-project/opensearch puts an index template by POST.
    expect(resourcesFor(st, "es:ESHttpPost")).toContain(`/_index_template/${indexTemplateName("messages")}"`);
    expect(resourcesFor(st, "es:ESHttpDelete")).toContain(
      `/_index_template/${indexTemplateName("messages")}"`,
    );
    const env =
      s.template.findResources("AWS::Lambda::Function")[s.fnIds["keyword-indexer"]!]!.Properties.Environment
        .Variables;
    expect(env.CHROMA_URL).toBeUndefined();
    expect(env.EMBEDDER).toBeUndefined();
  });

  it("the embedder cannot reach OpenSearch; search only reads it", () => {
    expect(actionsOf(statements("embedder")).some((a) => a.startsWith("es:"))).toBe(false);
    const searchEs = actionsOf(statements("search")).filter((a) => a.startsWith("es:"));
    expect(new Set(searchEs)).toEqual(new Set(["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"]));
  });

  it("only the searches (search, slack-command-search) read the cursor secret, and get its ARN (signed search cursors)", () => {
    const readers = ["search", "slack-command-search"];
    for (const name of readers) {
      expect(resourcesFor(statements(name), "secretsmanager:GetSecretValue"), name).toContain(
        JSON.stringify({ Ref: logicalId(s.stack.api.cursorSecret) }),
      );
      const env =
        s.template.findResources("AWS::Lambda::Function")[s.fnIds[name]!]!.Properties.Environment.Variables;
      expect(env.CURSOR_SECRET_ARN, name).toEqual({ Ref: logicalId(s.stack.api.cursorSecret) });
    }
    for (const name of ALL_FUNCTIONS.filter((n) => !readers.includes(n))) {
      expect(resourcesFor(statements(name), "secretsmanager:GetSecretValue"), name).not.toContain(
        logicalId(s.stack.api.cursorSecret),
      );
    }
  });

  it("only the membership resync and the reply step (both outside the VPC) read the Slack bot token, which starts blank", () => {
    const token = logicalId(s.stack.slackBotToken);
    const fns = s.template.findResources("AWS::Lambda::Function");
    const readers = ALL_FUNCTIONS.filter((name) =>
      resourcesFor(statements(name), "secretsmanager:GetSecretValue").includes(`"${token}"`),
    );
    expect(readers.sort()).toEqual(["membership-sync", "slack-reply"]);
    for (const name of ALL_FUNCTIONS) {
      const env = fns[s.fnIds[name]!]!.Properties.Environment.Variables;
      expect(env.SLACK_BOT_TOKEN_ARN, name).toEqual(readers.includes(name) ? { Ref: token } : undefined);
      // No digest channel in the default settings: the schedule posts nothing.
      expect(env.GAPS_DIGEST_CHANNEL, name).toBeUndefined();
    }
    for (const name of readers) expect(networkOf(name as FunctionName)).toBe("internet");
    // Blank, not generated: a random value would be sent to Slack as a token (resolveSecretEnv reads
    // a blank secret as unset, so the resync skips until the real token is put).
    const secret = s.template.findResources("AWS::SecretsManager::Secret")[token]!;
    expect(secret.Properties.SecretString).toBe(" ");
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
  });

  it("the Slack webhook only enqueues to the ingest queue and reads the signing secret (no database)", () => {
    const st = statements("slack-events");
    expect(resourcesFor(st, "sqs:SendMessage")).toBe(
      JSON.stringify([{ "Fn::GetAtt": [logicalId(s.stack.pipeline.ingest.queue), "Arn"] }]),
    );
    expect(resourcesFor(st, "secretsmanager:GetSecretValue")).toBe(
      JSON.stringify([{ Ref: logicalId(s.stack.slackSigningSecret) }]),
    );
    expect(actionsOf(st).some((a) => a.startsWith("es:") || a.startsWith("bedrock:"))).toBe(false);
    expect(admittedGroups(logicalId(s.stack.database.proxySecurityGroup), 5432)).not.toContain(
      s.sgIds["slack-events"],
    );
  });

  it("the slash command: the ack only enqueues a search, the search only enqueues its reply, the reply step holds no store grant", () => {
    const sendsTo = (n: string) =>
      statements(n)
        .filter((st) => asArray(st.Action).includes("sqs:SendMessage"))
        .flatMap((st) => asArray(st.Resource as { "Fn::GetAtt": string[] }))
        .map((r) => r["Fn::GetAtt"][0]);
    expect(sendsTo("slack-commands")).toEqual([logicalId(s.stack.pipeline.queues.commands.queue)]);
    expect(resourcesFor(statements("slack-commands"), "secretsmanager:GetSecretValue")).toBe(
      JSON.stringify([{ Ref: logicalId(s.stack.slackSigningSecret) }]),
    );
    expect(sendsTo("slack-command-search")).toEqual([logicalId(s.stack.pipeline.queues.replies.queue)]);
    // The gap schedule's digest goes the same way: onto the replies queue, posted by slack-reply.
    expect(sendsTo("gaps-schedule")).toEqual([logicalId(s.stack.pipeline.queues.replies.queue)]);
    const reply = actionsOf(statements("slack-reply"));
    // Besides its queue, only the bot token (chat.postMessage for the digest).
    expect(reply.filter((a) => !a.startsWith("sqs:")).sort()).toEqual([
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
    ]);
    expect(resourcesFor(statements("slack-reply"), "secretsmanager:GetSecretValue")).toBe(
      JSON.stringify([{ Ref: logicalId(s.stack.slackBotToken) }]),
    );
    expect(reply).not.toContain("sqs:SendMessage");
  });

  it("ingest, slack-ingest, the relay and the reconciler publish to the keyword and vector queues only", () => {
    const publishQueues = JSON.stringify(
      [logicalId(s.stack.pipeline.keyword.queue), logicalId(s.stack.pipeline.vector.queue)].sort(),
    );
    for (const n of ["ingest", "slack-ingest", "outbox-relay", "reconcile"]) {
      const targets = statements(n)
        .filter((st) => asArray(st.Action).includes("sqs:SendMessage"))
        .flatMap((st) => asArray(st.Resource as { "Fn::GetAtt": string[] }))
        .map((r) => r["Fn::GetAtt"][0])
        .sort();
      expect(JSON.stringify(targets), n).toBe(publishQueues);
    }
    for (const n of ["search", "keyword-indexer", "embedder", "migrate"]) {
      expect(actionsOf(statements(n)), n).not.toContain("sqs:SendMessage");
    }
  });

  it("the migration function only reads the DB secrets (its own, the owner's; the reader's and writer's to create them)", () => {
    const actions = new Set(actionsOf(statements("migrate")));
    expect(actions).toEqual(new Set(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]));
  });
});

describe("database roles and secret rotation (README 'Database roles')", () => {
  const db = () => s.stack.database;
  const statements = (name: string) => statementsOfRole(s.template, s.roleIds[name]!);
  const secretRef = (access: "read" | "write" | "owner") => ({
    Ref: logicalId(
      { read: db().readerSecret, write: db().writerSecret, owner: db().instance.secret! }[access],
    ),
  });
  const dbSecretRefs = () =>
    new Set(
      [db().readerSecret, db().writerSecret, db().instance.secret!].map((x) =>
        JSON.stringify({ Ref: logicalId(x) }),
      ),
    );
  const env = (name: string) =>
    s.template.findResources("AWS::Lambda::Function")[s.fnIds[name]!]!.Properties.Environment
      .Variables as Record<string, unknown>;

  it("each function connects as the user of its topology access: readers, writers, the owner for migrations only", () => {
    const expected: Record<string, "read" | "write" | "owner"> = {};
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      for (const a of spec.access as readonly string[])
        if (a.startsWith("database-"))
          expected[name] = a.slice("database-".length) as "read" | "write" | "owner";
    }
    // The searches only read; migrations alone own the schema.
    expect(
      Object.entries(expected)
        .filter(([, a]) => a === "read")
        .map(([n]) => n)
        .sort(),
    ).toEqual(["gaps", "search", "slack-command-search"]);
    expect(
      Object.entries(expected)
        .filter(([, a]) => a === "owner")
        .map(([n]) => n),
    ).toEqual(["migrate"]);
    for (const name of ALL_FUNCTIONS) {
      const read = JSON.parse(resourcesFor(statements(name), "secretsmanager:GetSecretValue")) as unknown[];
      const dbSecretsRead = read.map((r) => JSON.stringify(r)).filter((r) => dbSecretRefs().has(r));
      const access = expected[name];
      if (!access) {
        expect(dbSecretsRead, name).toEqual([]);
        expect(env(name).DB_SECRET_ARN, name).toBeUndefined();
        continue;
      }
      expect(env(name).DB_SECRET_ARN, name).toEqual(secretRef(access));
      const reads = name === "migrate" ? ["owner", "read", "write"] : [access];
      expect(dbSecretsRead.sort(), name).toEqual(
        reads.map((a) => JSON.stringify(secretRef(a as "read"))).sort(),
      );
    }
    // The migrate function creates the reader and writer users from their secrets.
    expect(env("migrate")).toMatchObject({
      DB_READER_SECRET_ARN: secretRef("read"),
      DB_WRITER_SECRET_ARN: secretRef("write"),
    });
  });

  it("the proxy authenticates all three users", () => {
    const proxy = Object.values(resources("AWS::RDS::DBProxy"))[0]!;
    const arns = (proxy.Properties.Auth as { SecretArn: unknown }[])
      .map((a) => JSON.stringify(a.SecretArn))
      .sort();
    expect(arns).toEqual([...dbSecretRefs()].sort());
  });

  it("every database secret rotates (30 days), after the migrations, with the single-user or multi-user application", () => {
    const schedules = Object.entries(resources("AWS::SecretsManager::RotationSchedule")).filter(([, r]) =>
      dbSecretRefs().has(JSON.stringify(r.Properties.SecretId)),
    );
    expect(schedules.map(([, r]) => JSON.stringify(r.Properties.SecretId)).sort()).toEqual(
      [...dbSecretRefs()].sort(),
    );
    const apps = resources("AWS::Serverless::Application");
    const trigger = logicalId(db().migrationTrigger);
    for (const [id, r] of schedules) {
      expect(r.Properties.RotationRules.ScheduleExpression, id).toBe("rate(30 days)");
      expect(r.DependsOn, id).toContain(trigger);
      const appId = r.Properties.RotationLambdaARN["Fn::GetAtt"][0] as string;
      const app = apps[appId]!.Properties;
      const owner = JSON.stringify(r.Properties.SecretId) === JSON.stringify(secretRef("owner"));
      expect(JSON.stringify(s.template.toJSON().Mappings), id).toContain(
        owner
          ? "SecretsManagerRDSPostgreSQLRotationSingleUser"
          : "SecretsManagerRDSPostgreSQLRotationMultiUser",
      );
      expect(JSON.stringify(app.Location), id).toContain(owner ? "RotationSingleUser" : "Rotation");
      // Multi-user: the master secret logs in to set the password or create the `_clone` user.
      if (!owner) expect(app.Parameters.masterSecretArn, id).toEqual(secretRef("owner"));
      // Through the Secrets Manager endpoint, from the isolated subnets.
      expect(JSON.stringify(app.Parameters.endpoint), id).toContain(
        logicalId(s.stack.network.interfaceEndpoints.SecretsManager!),
      );
      const isolated = s.stack.network.vpc.isolatedSubnets.map((sn) =>
        JSON.stringify({ Ref: logicalId(sn) }),
      );
      for (const sn of isolated)
        expect(JSON.stringify(app.Parameters.vpcSubnetIds), id).toContain(JSON.parse(sn).Ref);
    }
    expect(Object.keys(apps)).toHaveLength(3);
  });

  it("the instance admits the proxy and the three rotation functions, nothing else", () => {
    const instanceSg = s.stack.getLogicalId(
      db().instance.connections.securityGroups[0]!.node.defaultChild as CfnResource,
    );
    // (Every rule on the instance's group, whatever its port: the rotations' name the endpoint port.)
    const admitted = [
      ...new Set(
        Object.values(resources("AWS::EC2::SecurityGroupIngress"))
          .filter((r) => r.Properties.GroupId["Fn::GetAtt"]?.[0] === instanceSg)
          .map((r) => r.Properties.SourceSecurityGroupId["Fn::GetAtt"][0] as string),
      ),
    ].sort();
    const proxy = logicalId(db().proxySecurityGroup);
    expect(admitted).toContain(proxy);
    const rotations = admitted.filter((g) => g !== proxy);
    expect(rotations).toHaveLength(3);
    for (const g of rotations)
      expect(g).toMatch(/^DatabaseInstance(RotationSingleUser|ReaderRotation|WriterRotation)SecurityGroup/);
  });

  it("no cdk-nag SMG4 suppression is left on a database secret", () => {
    const template = s.template.toJSON() as { Resources: Record<string, { Metadata?: unknown }> };
    for (const [id, r] of Object.entries(template.Resources)) {
      if (!id.startsWith("Database")) continue;
      expect(JSON.stringify(r.Metadata ?? {}), id).not.toContain("AwsSolutions-SMG4");
    }
  });
});

describe("API", () => {
  const routes = () =>
    Object.fromEntries(
      Object.values(resources("AWS::ApiGatewayV2::Route")).map((r) => [r.Properties.RouteKey, r.Properties]),
    );

  it("requires IAM on /messages and /search, leaves /slack/events to the signature check", () => {
    const r = routes();
    expect(Object.keys(r).sort()).toEqual(ROUTES.map(routeKey).sort());
    for (const route of ROUTES.filter((x) => x.auth === "caller")) {
      expect(r[routeKey(route)]!.AuthorizationType, routeKey(route)).toBe("AWS_IAM");
    }
    expect(r["POST /slack/events"]!.AuthorizationType).toBe("NONE");
    expect(r["POST /slack/commands"]!.AuthorizationType).toBe("NONE");
  });

  it("documents every route in the OpenAPI contract, and documents no route it does not serve", () => {
    const documented = Object.entries(openApiDocument().paths ?? {}).flatMap(([path, ops]) =>
      Object.keys(ops ?? {}).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(Object.keys(routes()).sort()).toEqual(documented.sort());
  });

  it("throttles the stage and writes JSON access logs", () => {
    s.template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp("\\$context.requestId"),
      },
    });
  });

  it("switches /messages and /search to a JWT authorizer when configured (and the gaps digest to its channel)", () => {
    const jwt = synthStack({
      settings: {
        authMode: "jwt",
        jwtIssuer: "https://issuer.example.com/",
        jwtAudience: "trisearch,cli",
        // Another setting, checked on the same synth (one synth costs seconds).
        gapsDigestChannel: "C0DIGEST01",
      },
    });
    const fns = jwt.template.findResources("AWS::Lambda::Function");
    const withDigest = Object.entries(jwt.fnIds)
      .filter(([, id]) => fns[id]!.Properties.Environment.Variables.GAPS_DIGEST_CHANNEL === "C0DIGEST01")
      .map(([name]) => name);
    expect(withDigest).toEqual(["gaps-schedule"]);
    jwt.template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      JwtConfiguration: { Issuer: "https://issuer.example.com/", Audience: ["trisearch", "cli"] },
    });
    const r = Object.fromEntries(
      Object.values(jwt.template.findResources("AWS::ApiGatewayV2::Route")).map((x) => [
        x.Properties.RouteKey,
        x.Properties.AuthorizationType,
      ]),
    );
    expect(r).toEqual(
      Object.fromEntries(ROUTES.map((x) => [routeKey(x), x.auth === "caller" ? "JWT" : "NONE"])),
    );
  }, 120_000);

  it("issue 16: the search route's authorizer and the viewer rule (IAM default: viewer= required, no unscoped reads)", () => {
    const r = routes();
    for (const key of ["GET /search", "POST /search", "GET /gaps"])
      expect(r[key]!.AuthorizationType, key).toBe("AWS_IAM");
    const fns = s.template.findResources("AWS::Lambda::Function");
    for (const name of ["search", "gaps"]) {
      const env = fns[s.fnIds[name]!]!.Properties.Environment.Variables;
      expect(env.SEARCH_ALLOW_UNSCOPED, name).toBe("false");
      expect(env.SEARCH_VIEWER_CLAIM, name).toBe("sub");
    }
  });

  it("issue 16: with a JWT authorizer the search route takes the viewer from the configured claim; unscoped only by the context flag", () => {
    const jwt = synthStack({
      settings: {
        authMode: "jwt",
        jwtIssuer: "https://issuer.example.com/",
        jwtAudience: "trisearch",
        jwtViewerClaim: "slack_user_id",
        allowUnscopedSearch: "true",
      },
    });
    const authorizers = jwt.template.findResources("AWS::ApiGatewayV2::Authorizer");
    const [authorizerId] = Object.keys(authorizers);
    expect(Object.keys(authorizers)).toHaveLength(1);
    const searchRoute = Object.values(jwt.template.findResources("AWS::ApiGatewayV2::Route")).find(
      (x) => x.Properties.RouteKey === "GET /search",
    );
    expect(searchRoute?.Properties).toMatchObject({
      AuthorizationType: "JWT",
      AuthorizerId: { Ref: authorizerId },
    });
    const fns = jwt.template.findResources("AWS::Lambda::Function");
    for (const name of ["search", "gaps"]) {
      const env = fns[jwt.fnIds[name]!]!.Properties.Environment.Variables;
      expect(env.SEARCH_VIEWER_CLAIM, name).toBe("slack_user_id");
      expect(env.SEARCH_ALLOW_UNSCOPED, name).toBe("true");
    }
  }, 120_000);

  it("rejects a JWT configuration without issuer/audience", () => {
    expect(() => parseSettings({ authMode: "jwt" })).toThrow(/jwtIssuer/);
    expect(() => parseSettings({ bedrockDimensions: "768" })).toThrow(/256, 512 or 1024/);
  });
});

describe("schedules, migrations and observability", () => {
  it("runs the outbox relay and the reconciler at the topology's rates", () => {
    const rules = Object.values(resources("AWS::Events::Rule"));
    const byTarget = Object.fromEntries(
      rules.map((r) => [r.Properties.Targets[0].Arn["Fn::GetAtt"][0], r.Properties.ScheduleExpression]),
    );
    expect(byTarget[s.fnIds["outbox-relay"]!]).toBe(rateOf(SCHEDULES.outboxRelay.everySeconds));
    expect(byTarget[s.fnIds.reconcile!]).toBe(rateOf(SCHEDULES.reconcile.everySeconds));
  });

  it("applies migrations on deploy through a custom resource that runs after the database and proxy", () => {
    const triggers = s.template.findResources("Custom::Trigger");
    const [trigger] = Object.values(triggers);
    expect(trigger).toBeDefined();
    const versionId = trigger!.Properties.HandlerArn.Ref as string;
    const version = s.template.findResources("AWS::Lambda::Version")[versionId]!;
    expect(version.Properties.FunctionName).toEqual({ Ref: s.fnIds.migrate });
    const deps = asArray(trigger!.DependsOn as string[]);
    expect(deps).toEqual(
      expect.arrayContaining([logicalId(s.stack.database.instance), logicalId(s.stack.database.proxy)]),
    );
  });

  it("alarms on DLQ depth > 0 and the age of the oldest message of every queue", () => {
    const alarms = Object.values(resources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    for (const wq of s.stack.pipeline.workQueues) {
      const dlq = alarms.find(
        (a) =>
          a.MetricName === "ApproximateNumberOfMessagesVisible" &&
          JSON.stringify(a.Dimensions).includes(logicalId(wq.deadLetterQueue)),
      );
      expect(dlq, wq.name).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
      const age = alarms.find(
        (a) =>
          a.MetricName === "ApproximateAgeOfOldestMessage" &&
          JSON.stringify(a.Dimensions).includes(logicalId(wq.queue)),
      );
      expect(age, wq.name).toBeDefined();
    }
  });

  it("alarms on errors and throttles of every function, all to the encrypted alarm topic", () => {
    const alarms = Object.values(resources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    for (const [name, id] of Object.entries(s.fnIds)) {
      for (const metric of ["Errors", "Throttles"]) {
        const a = alarms.find((x) => x.MetricName === metric && JSON.stringify(x.Dimensions).includes(id));
        expect(a, `${name} ${metric}`).toMatchObject({
          Threshold: 0,
          ComparisonOperator: "GreaterThanThreshold",
        });
      }
    }
    const topicId = logicalId(s.stack.observability.topic);
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    s.template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    s.template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });
});

describe("Slack export import", () => {
  it("the upload bucket is encrypted, blocks public access, enforces TLS and keeps uploads on stack deletion", () => {
    const bucketId = logicalId(s.stack.pipeline.importBucket);
    const bucket = resources("AWS::S3::Bucket")[bucketId]!;
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.DeletionPolicy).toBe("Retain");
    s.template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("an uploaded .zip notifies the import queue, whose consumer is slack-import (the topology's timeout, memory, /tmp, batch)", () => {
    s.template.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: { Ref: logicalId(s.stack.pipeline.importBucket) },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ["s3:ObjectCreated:*"],
            Filter: { Key: { FilterRules: [{ Name: "suffix", Value: ".zip" }] } },
            QueueArn: { "Fn::GetAtt": [logicalId(s.stack.pipeline.queues.import.queue), "Arn"] },
          },
        ],
      },
    });
    const fn = resources("AWS::Lambda::Function")[logicalId(s.stack.pipeline.queues.import.consumer)]!;
    const spec = FUNCTIONS[QUEUES.import.consumer];
    expect(fn.Properties).toMatchObject({
      Timeout: spec.timeoutSeconds,
      MemorySize: memoryOf(QUEUES.import.consumer),
      EphemeralStorage: { Size: spec.ephemeralStorageMb },
    });
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalId(s.stack.pipeline.queues.import.consumer) },
      BatchSize: QUEUES.import.batchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("slack-import only gets objects of the upload bucket and sends only its continuations and index jobs", () => {
    const st = statementsOfRole(s.template, s.roleIds["slack-import"]!);
    const s3Actions = actionsOf(st).filter((a) => a.startsWith("s3:"));
    expect(s3Actions).toEqual(["s3:GetObject"]);
    expect(resourcesFor(st, "s3:GetObject")).toBe(
      JSON.stringify([
        { "Fn::Join": ["", [{ "Fn::GetAtt": [logicalId(s.stack.pipeline.importBucket), "Arn"] }, "/*"]] },
      ]),
    );
    const targets = st
      .filter((x) => asArray(x.Action).includes("sqs:SendMessage"))
      .flatMap((x) => asArray(x.Resource as { "Fn::GetAtt": string[] }))
      .map((r) => r["Fn::GetAtt"][0])
      .sort();
    expect(targets).toEqual(
      [
        logicalId(s.stack.pipeline.queues.import.queue),
        logicalId(s.stack.pipeline.keyword.queue),
        logicalId(s.stack.pipeline.vector.queue),
      ].sort(),
    );
  });
});
