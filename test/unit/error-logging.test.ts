import { Logger } from "@aws-lambda-powertools/logger";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RetryableError } from "../../functions/core/errors";

afterEach(() => vi.restoreAllMocks());

describe("errors in logs", () => {
  it("a logged 5xx AppError keeps its message and cause (only the HTTP body hides them)", () => {
    const lines: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    }
    const err = new RetryableError("the vector store is down", new Error("ECONNREFUSED 127.0.0.1:8000"));
    new Logger({ serviceName: "test", logLevel: "INFO" }).error("search leg failed", { error: err });
    const logged = lines.join("");
    expect(logged).toContain("the vector store is down");
    expect(logged).toContain("ECONNREFUSED 127.0.0.1:8000");
    expect(err.toResponseBody()).toEqual({ error: { code: "unavailable", message: "Internal error" } });
  });
});
