import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/shared/config";
import { CHROMA_VERSION } from "../../lib/chroma-service";

describe("the local Chroma", () => {
  it("serves the version the CDK stack deploys (docker/chroma/Dockerfile)", async () => {
    const res = await fetch(new URL("/api/v2/version", loadConfig().CHROMA_URL));
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(CHROMA_VERSION);
  });
});
