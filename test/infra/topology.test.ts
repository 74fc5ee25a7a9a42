import { beforeAll, describe, expect, it } from "vitest";
import {
  FUNCTIONS,
  type FunctionName,
  memoryOf,
  QUEUES,
  ROUTES,
  routeKey,
  SCHEDULES,
  visibilityTimeoutSeconds,
} from "../../functions/topology";
import { type Synth, synthStack } from "./support";

/**
 * The CDK stack deploys exactly what functions/topology.ts declares: a route, queue, schedule or
 * function the topology does not have fails here, and so does a value that differs.
 */
let s: Synth;
beforeAll(() => {
  s = synthStack();
}, 300_000);

const resources = (type: string) => s.template.findResources(type);
const nameOfFunction = (logicalId: string) => {
  const entry = Object.entries(s.fnIds).find(([, id]) => id === logicalId);
  if (!entry) throw new Error(`${logicalId} is not a TrisearchFunction`);
  return entry[0];
};

describe("the CDK stack is the topology", () => {
  it("has exactly the topology's functions, each with its timeout and memory", () => {
    const fns = resources("AWS::Lambda::Function");
    expect(Object.keys(s.fnIds).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    for (const [name, id] of Object.entries(s.fnIds)) {
      const p = fns[id]!.Properties;
      expect(p.Timeout, name).toBe(FUNCTIONS[name as FunctionName].timeoutSeconds);
      expect(p.MemorySize, name).toBe(memoryOf(name as FunctionName));
    }
    // Nothing else runs code of ours: every other function is CDK's own (log retention, triggers...).
    const ours = new Set(Object.values(s.fnIds));
    for (const [id, fn] of Object.entries(fns)) {
      if (ours.has(id)) continue;
      expect(JSON.stringify(fn.Properties.Handler ?? ""), id).not.toMatch(/functions\/handlers/);
    }
  });

  it("serves exactly the topology's routes, each by its function", () => {
    const integrations = resources("AWS::ApiGatewayV2::Integration");
    const routes = Object.values(resources("AWS::ApiGatewayV2::Route")).map((r) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(ROUTES.map(routeKey).sort());
    for (const route of ROUTES) {
      const deployed = routes.find((r) => r.RouteKey === routeKey(route))!;
      const integrationId = (deployed.Target["Fn::Join"][1][1].Ref as string) ?? "";
      const fnRef = integrations[integrationId]!.Properties.IntegrationUri["Fn::GetAtt"][0] as string;
      expect(nameOfFunction(fnRef), routeKey(route)).toBe(route.function);
      expect(deployed.AuthorizationType, routeKey(route)).toBe(route.auth === "caller" ? "AWS_IAM" : "NONE");
    }
  });

  it("consumes exactly the topology's queues with its batch size, window, concurrency, visibility and DLQ", () => {
    const queues = resources("AWS::SQS::Queue");
    const mappings = Object.values(resources("AWS::Lambda::EventSourceMapping")).map((m) => m.Properties);
    expect(mappings).toHaveLength(Object.keys(QUEUES).length);
    const p = s.stack.pipeline;
    for (const [name, spec] of Object.entries(QUEUES)) {
      const wq = p.queues[name as keyof typeof QUEUES];
      const queueId = s.stack.getLogicalId(wq.queue.node.defaultChild as never);
      const m = mappings.find((x) => x.EventSourceArn["Fn::GetAtt"][0] === queueId);
      expect(m, name).toBeDefined();
      expect(nameOfFunction(m!.FunctionName.Ref), name).toBe(spec.consumer);
      expect(m!.BatchSize, name).toBe(spec.batchSize);
      expect(m!.MaximumBatchingWindowInSeconds, name).toBe(spec.maxBatchingWindowSeconds);
      expect(m!.ScalingConfig.MaximumConcurrency, name).toBe(spec.maxConcurrency);
      const q = queues[queueId]!.Properties;
      expect(q.VisibilityTimeout, name).toBe(visibilityTimeoutSeconds(name as keyof typeof QUEUES));
      expect(q.RedrivePolicy.maxReceiveCount, name).toBe(spec.maxReceiveCount);
    }
  });

  it("runs exactly the topology's schedules, each on its function, rate, retries and event age", () => {
    const rules = Object.values(resources("AWS::Events::Rule")).map((r) => r.Properties);
    expect(rules).toHaveLength(Object.keys(SCHEDULES).length);
    for (const [name, spec] of Object.entries(SCHEDULES)) {
      const rule = rules.find((r) => nameOfFunction(r.Targets[0].Arn["Fn::GetAtt"][0]) === spec.function);
      expect(rule, name).toBeDefined();
      // CDK writes whole hours as hours: rate(1 hour), rate(2 hours).
      const minutes = spec.everySeconds / 60;
      const [n, unit] = minutes % 60 === 0 ? [minutes / 60, "hour"] : [minutes, "minute"];
      expect(rule!.ScheduleExpression, name).toBe(`rate(${n} ${unit}${n === 1 ? "" : "s"})`);
      expect(rule!.Targets[0].RetryPolicy, name).toEqual({
        MaximumRetryAttempts: spec.retryAttempts,
        MaximumEventAgeInSeconds: spec.maxEventAgeSeconds,
      });
    }
  });

  it("honours a deploy-time concurrency override (cdk.json context) over the topology's", () => {
    const tuned = synthStack({ settings: { keywordMaxConcurrency: "7" } });
    const concurrency = Object.values(tuned.template.findResources("AWS::Lambda::EventSourceMapping")).map(
      (m) => [m.Properties.FunctionName.Ref, m.Properties.ScalingConfig.MaximumConcurrency],
    );
    expect(Object.fromEntries(concurrency)[tuned.fnIds["keyword-indexer"]!]).toBe(7);
    expect(Object.fromEntries(concurrency)[tuned.fnIds.embedder!]).toBe(QUEUES.vector.maxConcurrency);
  }, 120_000);
});
