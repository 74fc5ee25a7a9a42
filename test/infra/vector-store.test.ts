import { beforeAll, describe, expect, it } from "vitest";
import { actionsOf, resourcesFor, type Synth, statementsOfRole, synthStack } from "./support";

/** cdk context vectorStore=opensearch (README "Vector store"): the search domain's k-NN index holds the vectors. */
let s: Synth;
beforeAll(() => {
  s = synthStack({ settings: { vectorStore: "opensearch", openSearchDataNodes: 2 } });
}, 300_000);

const env = (name: string) =>
  s.template.findResources("AWS::Lambda::Function")[s.fnIds[name]!]!.Properties.Environment.Variables;
const statements = (name: string) => statementsOfRole(s.template, s.roleIds[name]!);

describe("vectorStore=opensearch", () => {
  it("creates no Chroma service: no ECS, EFS or load balancer", () => {
    expect(s.stack.chroma).toBeUndefined();
    for (const type of [
      "AWS::ECS::Service",
      "AWS::ECS::Cluster",
      "AWS::EFS::FileSystem",
      "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ]) {
      expect(Object.keys(s.template.findResources(type)), type).toEqual([]);
    }
  });

  it("points the vector functions at the domain's k-NN index, one replica per extra data node", () => {
    for (const name of ["embedder", "search", "reconcile"]) {
      const e = env(name);
      expect(e.VECTOR_STORE, name).toBe("opensearch");
      expect(JSON.stringify(e.OPENSEARCH_VECTOR_URL), name).toContain("DomainEndpoint");
      expect(e.OPENSEARCH_VECTOR_INDEX, name).toBe("message-vectors");
      expect(e.OPENSEARCH_VECTOR_REPLICAS, name).toBe("1");
      expect(e.OPENSEARCH_AUTH, name).toBe("sigv4");
      expect(e.CHROMA_URL, name).toBeUndefined();
    }
  });

  it("grants the embedder the k-NN indexes and their templates only, never the keyword index", () => {
    const st = statements("embedder");
    const es = actionsOf(st).filter((a) => a.startsWith("es:"));
    expect(new Set(es)).toEqual(
      new Set(["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]),
    );
    const resources = resourcesFor(st, "es:ESHttpPut");
    expect(resources).toContain('/message-vectors"');
    expect(resources).toContain("/message-vectors*");
    expect(resources).toContain("/_index_template/trisearch-vectors-message-vectors*");
    expect(resources).not.toContain("/messages");
    // The keyword indexer keeps to the keyword index.
    expect(resourcesFor(statements("keyword-indexer"), "es:ESHttpPut")).not.toContain("message-vectors");
    expect(env("keyword-indexer").VECTOR_STORE).toBeUndefined();
  });

  it("the default stays Chroma", () => {
    const chroma = synthStack();
    expect(chroma.stack.chroma).toBeDefined();
    const e =
      chroma.template.findResources("AWS::Lambda::Function")[chroma.fnIds.embedder!]!.Properties.Environment
        .Variables;
    expect(e.VECTOR_STORE).toBeUndefined();
    expect(e.CHROMA_URL).toBeDefined();
  }, 300_000);
});
