import type { CfnResource } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { TRAFFIC_RESOURCE_TYPES } from "../../lib/ordering";
import { parseSettings } from "../../lib/settings";
import { asArray, type Synth, synthStack } from "./support";

/** Issue #20: what a first deploy, its alarms and its teardown depend on. */
let s: Synth;
beforeAll(() => {
  s = synthStack();
}, 300_000);

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as CfnResource);

interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: { Service?: string | string[]; AWS?: unknown };
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const servicesOf = (st: PolicyStatement) => asArray(st.Principal?.Service);

describe("the alarm topic can be published to by CloudWatch and EventBridge", () => {
  it("is encrypted with a customer-managed, rotated key of this stack (not alias/aws/sns)", () => {
    const topic = s.template.findResources("AWS::SNS::Topic")[logicalId(s.stack.observability.topic)]!;
    const keyId = logicalId(s.stack.observability.topicKey);
    expect(topic.Properties.KmsMasterKeyId).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
    const key = s.template.findResources("AWS::KMS::Key")[keyId]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it("the key policy lets cloudwatch.amazonaws.com (this account's alarms) and events.amazonaws.com use the key", () => {
    const key = s.template.findResources("AWS::KMS::Key")[logicalId(s.stack.observability.topicKey)]!;
    const statements = key.Properties.KeyPolicy.Statement as PolicyStatement[];
    const grantsOf = (service: string) => {
      const grants = statements.filter((st) => st.Effect === "Allow" && servicesOf(st).includes(service));
      const actions = grants.flatMap((st) => asArray(st.Action));
      expect(actions, service).toEqual(expect.arrayContaining(["kms:Decrypt", "kms:GenerateDataKey*"]));
      return grants;
    };
    for (const g of grantsOf("cloudwatch.amazonaws.com"))
      expect(g.Condition?.StringEquals?.["aws:SourceAccount"]).toBe("123456789012");
    // The SNS guide: aws:SourceAccount/aws:SourceArn in a key policy are not supported for
    // EventBridge-to-encrypted topics; such a condition would silently drop every event.
    for (const g of grantsOf("events.amazonaws.com")) expect(g.Condition).toBeUndefined();
  });

  it("the topic policy (which replaces SNS's default) lets both services publish, and still denies non-TLS", () => {
    const topicId = logicalId(s.stack.observability.topic);
    const policies = Object.values(s.template.findResources("AWS::SNS::TopicPolicy")).filter((p) =>
      asArray(p.Properties.Topics as unknown[]).some(
        (t) => JSON.stringify(t) === JSON.stringify({ Ref: topicId }),
      ),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as PolicyStatement[];
    for (const service of ["cloudwatch.amazonaws.com", "events.amazonaws.com"]) {
      const publish = statements.find(
        (st) =>
          st.Effect === "Allow" &&
          servicesOf(st).includes(service) &&
          asArray(st.Action).includes("sns:Publish"),
      );
      expect(publish, service).toBeDefined();
      expect(publish!.Resource).toEqual({ Ref: topicId });
      expect(publish!.Condition?.StringEquals?.["aws:SourceAccount"]).toBe("123456789012");
    }
    expect(
      statements.some(
        (st) => st.Effect === "Deny" && JSON.stringify(st.Condition).includes("aws:SecureTransport"),
      ),
    ).toBe(true);
  });
});

describe("data-store alarms", () => {
  const alarms = () =>
    Object.values(s.template.findResources("AWS::CloudWatch::Alarm")).map(
      (a) =>
        a.Properties as {
          Namespace: string;
          MetricName: string;
          Dimensions: unknown;
          Threshold: number;
          ComparisonOperator: string;
          TreatMissingData: string;
          AlarmActions: unknown;
        },
    );
  const find = (namespace: string, metricName: string, dimensionRef: string) => {
    const found = alarms().filter(
      (a) =>
        a.Namespace === namespace &&
        a.MetricName === metricName &&
        JSON.stringify(a.Dimensions).includes(dimensionRef),
    );
    expect(found, `${namespace} ${metricName}`).toHaveLength(1);
    expect(found[0]!.AlarmActions).toEqual([{ Ref: logicalId(s.stack.observability.topic) }]);
    return found[0]!;
  };

  it("OpenSearch: cluster red, writes blocked, free storage, JVM pressure", () => {
    const domain = logicalId(s.stack.searchDomain.domain);
    expect(find("AWS/ES", "ClusterStatus.red", domain)).toMatchObject({
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(find("AWS/ES", "ClusterIndexWritesBlocked", domain)).toMatchObject({ Threshold: 0 });
    expect(find("AWS/ES", "FreeStorageSpace", domain)).toMatchObject({
      Threshold: 2048,
      ComparisonOperator: "LessThanThreshold",
    });
    expect(find("AWS/ES", "JVMMemoryPressure", domain)).toMatchObject({ Threshold: 80 });
  });

  it("RDS: CPU, free storage, connections; RDS Proxy: connection borrow latency", () => {
    const db = logicalId(s.stack.database.instance);
    expect(find("AWS/RDS", "CPUUtilization", db)).toMatchObject({ Threshold: 80 });
    expect(find("AWS/RDS", "FreeStorageSpace", db)).toMatchObject({
      Threshold: 2 * 1024 ** 3,
      ComparisonOperator: "LessThanThreshold",
    });
    expect(find("AWS/RDS", "DatabaseConnections", db)).toMatchObject({
      ComparisonOperator: "GreaterThanThreshold",
    });
    find("AWS/RDS", "DatabaseConnectionsBorrowLatency", logicalId(s.stack.database.proxy));
  });

  it("Chroma: running ECS tasks, unhealthy load balancer targets, EFS I/O limit", () => {
    // No data (no task, or Container Insights silent) must alarm, not read as healthy.
    expect(
      find("ECS/ContainerInsights", "RunningTaskCount", logicalId(s.stack.chroma!.service)),
    ).toMatchObject({ Threshold: 1, ComparisonOperator: "LessThanThreshold", TreatMissingData: "breaching" });
    expect(
      find("AWS/ApplicationELB", "UnHealthyHostCount", logicalId(s.stack.chroma!.targetGroup)),
    ).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
    find("AWS/EFS", "PercentIOLimit", logicalId(s.stack.chroma!.fileSystem));
  });
});

describe("removal policies by context (removalPolicy: retain | destroy)", () => {
  const policies = (synth: Synth) =>
    Object.entries(
      synth.template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>,
    );
  const policyOf = (synth: Synth, c: { node: { defaultChild?: unknown } }) =>
    synth.template.toJSON().Resources[synth.stack.getLogicalId(c.node.defaultChild as CfnResource)]
      .DeletionPolicy as string | undefined;

  it("retain (default) keeps the data: RDS protected with a final snapshot; domain, EFS, uploads and key retained", () => {
    s.template.hasResourceProperties("AWS::RDS::DBInstance", { DeletionProtection: true });
    expect(policyOf(s, s.stack.database.instance)).toBe("Snapshot");
    expect(policyOf(s, s.stack.searchDomain.domain)).toBe("Retain");
    expect(policyOf(s, s.stack.chroma!.fileSystem)).toBe("Retain");
    expect(policyOf(s, s.stack.pipeline.importBucket)).toBe("Retain");
    expect(policyOf(s, s.stack.observability.topicKey)).toBe("Retain");
  });

  it("destroy (a dev stack) leaves nothing that bills: no retained resource, no protection, snapshot or backup", () => {
    const dev = synthStack({ settings: { removalPolicy: "destroy" } });
    const kept = policies(dev).filter(
      ([, r]) =>
        r.DeletionPolicy !== undefined &&
        r.DeletionPolicy !== "Delete" &&
        // Free and account-wide (see "the OpenSearch service-linked role").
        r.Type !== "AWS::IAM::ServiceLinkedRole",
    );
    expect(kept.map(([id, r]) => `${id} ${r.Type} ${r.DeletionPolicy}`)).toEqual([]);
    dev.template.hasResourceProperties("AWS::RDS::DBInstance", {
      DeletionProtection: false,
      DeleteAutomatedBackups: true,
    });
    // EFS automatic backups are off (their recovery points would outlive the file system); without
    // a BackupPolicy CloudFormation creates the file system with them off.
    const [efs] = Object.values(dev.template.findResources("AWS::EFS::FileSystem"));
    expect(efs!.Properties.BackupPolicy?.Status ?? "DISABLED").toBe("DISABLED");
    s.template.hasResourceProperties("AWS::EFS::FileSystem", { BackupPolicy: { Status: "ENABLED" } });
    // The upload bucket is emptied on delete (CloudFormation cannot delete a non-empty bucket).
    expect(Object.keys(dev.template.findResources("Custom::S3AutoDeleteObjects"))).toHaveLength(1);
  }, 120_000);

  it("rejects an unknown removal policy", () => {
    expect(() => parseSettings({ removalPolicy: "snapshot" })).toThrow(/removalPolicy/);
  });
});

describe("the OpenSearch service-linked role", () => {
  it("is created by default, kept on stack deletion, and the domain waits for it", () => {
    const slr = s.stack.searchDomain.serviceLinkedRole!;
    expect(slr).toBeDefined();
    const id = s.stack.getLogicalId(slr);
    const resource = s.template.toJSON().Resources[id];
    expect(resource.Properties.AWSServiceName).toBe("opensearchservice.amazonaws.com");
    expect(resource.DeletionPolicy).toBe("Retain");
    const domain = s.template.toJSON().Resources[logicalId(s.stack.searchDomain.domain)];
    expect(asArray(domain.DependsOn as string[])).toContain(id);
  });

  it("is left out with createOpenSearchServiceLinkedRole=false (accounts that have it)", () => {
    const without = synthStack({ settings: { createOpenSearchServiceLinkedRole: "false" } });
    without.template.resourceCountIs("AWS::IAM::ServiceLinkedRole", 0);
  }, 120_000);
});

describe("ordering: traffic starts after the migrations", () => {
  it("every event source mapping, schedule, route, stage and bucket notification depends on the migration trigger", () => {
    const resources = s.template.toJSON().Resources as Record<
      string,
      { Type: string; DependsOn?: string | string[] }
    >;
    const [triggerId, ...others] = Object.keys(s.template.findResources("Custom::Trigger"));
    expect(others).toEqual([]);
    const serving = Object.entries(resources).filter(([, r]) =>
      (TRAFFIC_RESOURCE_TYPES as readonly string[]).includes(r.Type),
    );
    const types = new Set(serving.map(([, r]) => r.Type));
    // The types this stack has (a schedule group would be AWS::Scheduler::Schedule).
    for (const t of [
      "AWS::Lambda::EventSourceMapping",
      "AWS::Events::Rule",
      "AWS::ApiGatewayV2::Route",
      "AWS::ApiGatewayV2::Stage",
      "Custom::S3BucketNotifications",
    ]) {
      expect(types, t).toContain(t);
    }
    const early = serving.filter(([, r]) => !asArray(r.DependsOn).includes(triggerId!));
    expect(early.map(([id, r]) => `${id} ${r.Type}`)).toEqual([]);
  });

  it("the migration trigger waits for what its run needs: the Secrets Manager endpoint, function -> proxy -> instance rules", () => {
    const resources = s.template.toJSON().Resources as Record<
      string,
      { Type: string; DependsOn?: string | string[]; Properties: Record<string, unknown> }
    >;
    const [triggerId] = Object.keys(s.template.findResources("Custom::Trigger"));
    const dependsOn = asArray(resources[triggerId!]!.DependsOn);
    expect(dependsOn).toContain(logicalId(s.stack.network.interfaceEndpoints.SecretsManager!));
    const sgId = (c: { node: { defaultChild?: unknown } }) => logicalId(c);
    const proxySg = sgId(s.stack.database.proxySecurityGroup);
    // PostgreSQL-port rules: into which group, from which group.
    const rules = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::EC2::SecurityGroupIngress" && r.Properties.FromPort === 5432)
      .map(([id, r]) => ({
        id,
        into: JSON.stringify(r.Properties.GroupId),
        from: JSON.stringify(r.Properties.SourceSecurityGroupId),
      }));
    const migrateToProxy = rules.filter(
      (r) => r.into.includes(`"${proxySg}"`) && r.from.includes(`"${s.sgIds.migrate}"`),
    );
    const proxyToDb = rules.filter(
      (r) => r.from.includes(`"${proxySg}"`) && !r.into.includes(`"${proxySg}"`),
    );
    expect(migrateToProxy).toHaveLength(1);
    expect(proxyToDb).toHaveLength(1);
    expect(dependsOn).toEqual(expect.arrayContaining([migrateToProxy[0]!.id, proxyToDb[0]!.id]));
  });

  it("the template's dependency graph (DependsOn, Ref, GetAtt, Sub) has no cycle", () => {
    const resources = s.template.toJSON().Resources as Record<string, Record<string, unknown>>;
    const ids = new Set(Object.keys(resources));
    const edges = new Map<string, Set<string>>();
    for (const [id, r] of Object.entries(resources)) {
      const out = new Set(asArray(r.DependsOn as string | string[] | undefined));
      const json = JSON.stringify({ p: r.Properties });
      for (const m of json.matchAll(/"(?:Ref|Fn::GetAtt)":(?:\["|")([A-Za-z0-9]+)/g)) out.add(m[1]!);
      for (const m of json.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) out.add(m[1]!);
      edges.set(id, new Set([...out].filter((d) => ids.has(d))));
    }
    const state = new Map<string, "visiting" | "done">();
    const cycle: string[] = [];
    const visit = (id: string, path: string[]): boolean => {
      if (state.get(id) === "done") return false;
      if (state.get(id) === "visiting") {
        cycle.push(...path.slice(path.indexOf(id)), id);
        return true;
      }
      state.set(id, "visiting");
      for (const d of edges.get(id) ?? []) if (visit(d, [...path, id])) return true;
      state.set(id, "done");
      return false;
    };
    for (const id of ids) if (visit(id, [])) break;
    expect(cycle).toEqual([]);
  });
});
