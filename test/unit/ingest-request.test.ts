import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors";
import { parseIngestRequest } from "../../functions/core/ingest-request";

const good = {
  external_id: "1701.01",
  channel: "#platform",
  author: "judy@company.com",
  content: "Reindex tonight",
  timestamp: "2025-12-01T10:00:00Z",
};

function details(body: unknown): { path: string; message: string }[] {
  try {
    parseIngestRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return [...(err as ValidationError).details];
  }
  throw new Error("expected a ValidationError");
}

describe("parseIngestRequest", () => {
  it("maps a valid body to domain inputs", () => {
    const req = parseIngestRequest({
      source: { type: "slack", name: "acme" },
      messages: [{ ...good, thread_id: "t1", metadata: { reactions: 2 } }],
    });
    expect(req.source).toEqual({ type: "slack", name: "acme" });
    expect(req.messages[0]).toEqual({
      externalId: "1701.01",
      channel: "#platform",
      author: "judy@company.com",
      content: "Reindex tonight",
      timestamp: new Date("2025-12-01T10:00:00Z"),
      threadId: "t1",
      metadata: { reactions: 2 },
    });
  });

  it("names each bad field with its index", () => {
    const paths = details({
      source: { type: "slack", name: "acme" },
      messages: [
        good,
        { ...good, external_id: "2", content: "" },
        { ...good, external_id: "3", timestamp: "yesterday" },
      ],
    }).map((d) => d.path);
    expect(paths).toEqual(["messages.1.content", "messages.2.timestamp"]);
  });

  it("rejects an empty batch, a batch over 500 and content over 40,000 chars", () => {
    const source = { type: "slack", name: "acme" };
    expect(details({ source, messages: [] })[0]!.path).toBe("messages");
    const many = Array.from({ length: 501 }, (_, i) => ({ ...good, external_id: String(i) }));
    expect(details({ source, messages: many })[0]!.path).toBe("messages");
    expect(details({ source, messages: [{ ...good, content: "x".repeat(40_001) }] })[0]!.path).toBe(
      "messages.0.content",
    );
    expect(() =>
      parseIngestRequest({ source, messages: [{ ...good, content: "x".repeat(40_000) }] }),
    ).not.toThrow();
  });

  it("rejects a missing source, blank fields, and duplicate external ids in one request", () => {
    expect(details({ messages: [good] })[0]!.path).toBe("source");
    expect(details({ source: { type: "slack", name: " " }, messages: [good] })[0]!.path).toBe("source.name");
    const dup = details({ source: { type: "slack", name: "acme" }, messages: [good, good] });
    expect(dup).toEqual([{ path: "messages.1.external_id", message: "duplicates messages.0.external_id" }]);
  });

  it("rejects non-objects", () => {
    expect(details("hello")[0]!.path).toBe("(body)");
    expect(details(null)[0]!.path).toBe("(body)");
  });
});
