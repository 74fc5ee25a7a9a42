import { readFileSync } from "node:fs";
import path from "node:path";
import { AssetManifestArtifact } from "aws-cdk-lib/cx-api";
import { beforeAll, describe, expect, it } from "vitest";
import { CHROMA_IMAGE_DIR, CHROMA_VERSION } from "../../lib/chroma-service";
import { REPO_ROOT } from "../../lib/trisearch-function";
import { type Synth, synthStack } from "./support";

/**
 * Issue #20: the Chroma image is built by the deployment itself (a DockerImageAsset, arm64), not
 * read from an ECR repository someone had to push to, and it is the version the tests run.
 * (The image build itself needs Docker at `cdk deploy` time: not run here.)
 */
const fromTag = () => {
  const from = /^FROM\s+(\S+)/m.exec(readFileSync(path.join(CHROMA_IMAGE_DIR, "Dockerfile"), "utf8"))?.[1];
  return from;
};

let s: Synth;
beforeAll(() => {
  s = synthStack();
}, 300_000);

const chromaContainer = (synth: Synth) => {
  const taskDefs = synth.template.findResources("AWS::ECS::TaskDefinition");
  const defs = Object.values(taskDefs).flatMap(
    (t) => t.Properties.ContainerDefinitions as { Name: string; Image: unknown }[],
  );
  return defs.find((d) => d.Name === "chroma")!;
};

describe("the Chroma image", () => {
  it("is FROM the version the tests run (the Dockerfile, docker-compose.yml and CHROMA_VERSION agree)", () => {
    expect(fromTag()).toBe(`chromadb/chroma:${CHROMA_VERSION}`);
    const compose = readFileSync(path.join(REPO_ROOT, "docker-compose.yml"), "utf8");
    expect(/^ {2}chroma:\n\s+image:\s*(\S+)/m.exec(compose)?.[1]).toBe(`chromadb/chroma:${CHROMA_VERSION}`);
  });

  it("is a DockerImageAsset built for linux/arm64 from docker/chroma, pushed to the bootstrap repository", () => {
    const assembly = s.app.synth();
    const stack = assembly.getStackByName(s.stack.stackName);
    const manifest = stack.dependencies.find(
      (d) => d instanceof AssetManifestArtifact,
    ) as AssetManifestArtifact;
    const images = Object.values(
      (
        JSON.parse(readFileSync(manifest.file, "utf8")) as {
          dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
        }
      ).dockerImages,
    );
    expect(images).toHaveLength(1);
    expect(images[0]!.source.platform).toBe("linux/arm64");
    // The staged build context is docker/chroma as it is (its Dockerfile, nothing else).
    const staged = path.join(assembly.directory, images[0]!.source.directory);
    expect(readFileSync(path.join(staged, "Dockerfile"), "utf8")).toBe(
      readFileSync(path.join(CHROMA_IMAGE_DIR, "Dockerfile"), "utf8"),
    );
    // The task runs that image from the CDK bootstrap's container asset repository.
    const image = JSON.stringify(chromaContainer(s).Image);
    expect(image).toContain("cdk-hnb659fds-container-assets-");
    expect(image).not.toContain("trisearch/chroma");
    // ... on ARM64 Fargate (the asset's platform).
    const taskDef = Object.values(s.template.findResources("AWS::ECS::TaskDefinition"))[0]!;
    expect(taskDef.Properties.RuntimePlatform.CpuArchitecture).toBe("ARM64");
    // Nothing reads a repository the stack does not create.
    expect(JSON.stringify(s.template.toJSON())).not.toContain("trisearch/chroma");
  });

  it("a mirror you maintain can replace the build (chromaImageRepository, chromaImageTag defaults to the same version)", () => {
    const mirrored = synthStack({ settings: { chromaImageRepository: "mirror/chroma" } });
    const image = JSON.stringify(chromaContainer(mirrored).Image);
    expect(image).toContain("mirror/chroma");
    expect(image).toContain(`:${CHROMA_VERSION}`);
    expect(image).not.toContain("cdk-hnb659fds-container-assets-");
  }, 120_000);
});
