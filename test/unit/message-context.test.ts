import { describe, expect, it } from "vitest";
import {
  type ContextPolicy,
  type ContextSource,
  embeddingTexts,
  formatLegPolicy,
  inVectorSpace,
  keywordContexts,
  legVersion,
  type MessageNeighbours,
  modelOfVectorSpace,
  NO_CONTEXT,
  neighbourReach,
  parseLegPolicy,
  vectorSpaceId,
} from "../../functions/core/message-context";
import type { StoredMessage } from "../../functions/core/model";
import type { Embedder } from "../../functions/core/ports";

function message(
  id: number,
  author: string,
  content: string,
  over: Partial<StoredMessage> = {},
): StoredMessage {
  return {
    id,
    sourceId: 1,
    source: { type: "slack", name: "acme" },
    externalId: `m${id}`,
    channel: "#support",
    author,
    content,
    timestamp: new Date(Date.UTC(2025, 0, 1, 10, id)),
    threadId: null,
    metadata: {},
    embeddingId: null,
    version: 1,
    contentHash: "h",
    deletedAt: null,
    ...over,
  };
}

/** A conversation held in memory, with the same rules the PostgreSQL store applies. */
function conversationSource(all: readonly StoredMessage[]): ContextSource & { calls: number } {
  const src = {
    calls: 0,
    async neighbours(messages: readonly StoredMessage[], reach: Parameters<ContextSource["neighbours"]>[1]) {
      src.calls++;
      const out = new Map<number, MessageNeighbours>();
      for (const m of messages) {
        const sameConversation = all.filter(
          (d) =>
            d.channel === m.channel &&
            d.threadId === m.threadId &&
            !d.deletedAt &&
            d.timestamp < m.timestamp &&
            d.timestamp.getTime() >= m.timestamp.getTime() - reach.windowMinutes * 60_000,
        );
        const parent = reach.parent
          ? all.find((d) => d.externalId === m.threadId && !d.deletedAt)
          : undefined;
        out.set(m.id, {
          parent: parent ? { author: parent.author, content: parent.content } : null,
          preceding: sameConversation
            .slice(-reach.preceding)
            .map((d) => ({ author: d.author, content: d.content })),
        });
      }
      return out;
    },
  };
  return src;
}

const policy = (keyword: string, vector: string, windowMinutes = 60): ContextPolicy => ({
  keyword: parseLegPolicy(keyword),
  vector: parseLegPolicy(vector),
  windowMinutes,
});

describe("context policy parsing and versions", () => {
  it("parses parts in any order and case, and prints them canonically", () => {
    const p = parseLegPolicy(" Preceding:2 , author,parent ");
    expect(p).toEqual({ author: true, channel: false, parent: true, preceding: 2 });
    expect(formatLegPolicy(p)).toBe("author,parent,preceding:2");
    expect(parseLegPolicy("none")).toEqual(NO_CONTEXT);
    expect(parseLegPolicy("")).toEqual(NO_CONTEXT);
  });

  it("rejects unknown parts and too many preceding messages, naming them", () => {
    expect(() => parseLegPolicy("author,mood")).toThrow(/unknown context part "mood"/);
    expect(() => parseLegPolicy("preceding:9")).toThrow(/preceding:9/);
    expect(() => parseLegPolicy("preceding:x")).toThrow(/preceding:x/);
  });

  it("versions a leg by what it includes: no context keeps the bare model id", () => {
    expect(legVersion(NO_CONTEXT, 60)).toBe("");
    const a = legVersion(parseLegPolicy("author"), 60);
    expect(a).toMatch(/^ctx\.[0-9a-f]{8}$/);
    expect(legVersion(parseLegPolicy("author"), 30)).toBe(a); // the window only matters with neighbours
    expect(legVersion(parseLegPolicy("author,preceding:1"), 30)).not.toBe(
      legVersion(parseLegPolicy("author,preceding:1"), 60),
    );
    expect(legVersion(parseLegPolicy("parent,author"), 60)).toBe(
      legVersion(parseLegPolicy("author,parent"), 60),
    );
  });

  it("names the vector space after the model and the vector leg's version, and back", () => {
    expect(vectorSpaceId("bge-small-en-v15-q", policy("author", "none"))).toBe("bge-small-en-v15-q");
    const id = vectorSpaceId("bge-small-en-v15-q", policy("none", "author"));
    expect(id).toMatch(/^bge-small-en-v15-q\+ctx\.[0-9a-f]{8}$/);
    expect(modelOfVectorSpace(id)).toBe("bge-small-en-v15-q");
    expect(modelOfVectorSpace("bedrock:amazon.titan-embed-text-v2:0:1024")).toBe(
      "bedrock:amazon.titan-embed-text-v2:0:1024",
    );
  });

  it("an embedder in a vector space embeds with the same model under the space's id", async () => {
    const model: Embedder = {
      modelId: "m",
      dimension: 2,
      embed: async (texts) => texts.map((t) => [t.length, 1]),
      embedQuery: async (t) => [t.length, 0],
      embedForSearch: async (texts) => texts.map((t) => [t.length, 2]),
    };
    expect(inVectorSpace(model, policy("author", "none"))).toBe(model);
    const spaced = inVectorSpace(model, policy("none", "author"));
    expect(spaced.modelId).toBe(vectorSpaceId("m", policy("none", "author")));
    expect(spaced.dimension).toBe(2);
    expect(await spaced.embed(["abc"])).toEqual([[3, 1]]);
    expect(await spaced.embedQuery("ab")).toEqual([2, 0]);
    expect(await spaced.embedForSearch(["abcd"])).toEqual([[4, 2]]);
  });

  it("reads as far as the wider leg needs", () => {
    expect(neighbourReach(policy("author,preceding:2", "parent", 15))).toEqual({
      parent: true,
      preceding: 2,
      windowMinutes: 15,
    });
  });
});

describe("representations built from context", () => {
  const question = message(1, "alice", "When is the OAuth rollout?");
  const answer = message(2, "bob", "Next Tuesday, after the login fix");
  const thanks = message(3, "alice", "great");
  const conversation = [question, answer, thanks];

  it("the bare message when a leg has no context (and no store read)", async () => {
    const src = conversationSource(conversation);
    const ctx = { policy: policy("none", "none"), source: src };
    expect(await embeddingTexts(conversation, ctx)).toEqual(conversation.map((m) => m.content));
    expect(await keywordContexts(conversation, ctx)).toEqual(new Map());
    expect(await embeddingTexts(conversation, undefined)).toEqual(conversation.map((m) => m.content));
    expect(src.calls).toBe(0);
  });

  it("author only: no neighbours are read", async () => {
    const src = conversationSource(conversation);
    const ctx = { policy: policy("author", "author"), source: src };
    expect(await embeddingTexts([answer], ctx)).toEqual(["bob: Next Tuesday, after the login fix"]);
    expect(await keywordContexts([answer], ctx)).toEqual(new Map([[2, "bob"]]));
    expect(src.calls).toBe(0);
  });

  it("a display name stands for the author id where a directory provides one", async () => {
    const ctx = {
      policy: policy("author", "author"),
      source: conversationSource(conversation),
      authorName: (a: string) => (a === "bob" ? "Bob Smith" : a),
    };
    expect(await embeddingTexts([answer], ctx)).toEqual(["Bob Smith: Next Tuesday, after the login fix"]);
  });

  it("the first message of a channel has no preceding context", async () => {
    const ctx = {
      policy: policy("author,preceding:2", "author,preceding:1"),
      source: conversationSource(conversation),
    };
    expect(await keywordContexts([question], ctx)).toEqual(new Map([[1, "alice"]]));
    expect(await embeddingTexts([question], ctx)).toEqual(["alice: When is the OAuth rollout?"]);
  });

  it("preceding messages come oldest first, each with its author, the message's own text first", async () => {
    const ctx = {
      policy: policy("preceding:2", "author,preceding:1"),
      source: conversationSource(conversation),
    };
    expect((await keywordContexts([thanks], ctx)).get(3)).toBe(
      "alice: When is the OAuth rollout?\nbob: Next Tuesday, after the login fix",
    );
    expect(await embeddingTexts([thanks], ctx)).toEqual([
      "alice: great\nbob: Next Tuesday, after the login fix",
    ]);
  });

  it("the window edge: a message older than the window is not context", async () => {
    const late = message(4, "bob", "done", { timestamp: new Date(Date.UTC(2025, 0, 1, 12, 0)) });
    const all = [...conversation, late];
    const within = { policy: policy("preceding:1", "none", 120), source: conversationSource(all) };
    const outside = { policy: policy("preceding:1", "none", 30), source: conversationSource(all) };
    expect((await keywordContexts([late], within)).get(4)).toBe("alice: great");
    expect((await keywordContexts([late], outside)).get(4)).toBe("");
  });

  it("a deleted neighbour is skipped: the one before it takes its place", async () => {
    const all = [question, { ...answer, deletedAt: new Date() }, thanks];
    const ctx = { policy: policy("preceding:1", "none"), source: conversationSource(all) };
    expect((await keywordContexts([thanks], ctx)).get(3)).toBe("alice: When is the OAuth rollout?");
  });

  it("a thread reply gets its parent and the earlier replies, not the channel's top level", async () => {
    const parent = message(10, "carol", "Login fails on Android after the update", { externalId: "p10" });
    const reply1 = message(11, "dave", "Same on iOS", { threadId: "p10" });
    const reply2 = message(12, "carol", "Rolling back", { threadId: "p10" });
    const all = [...conversation, parent, reply1, reply2];
    const ctx = {
      policy: policy("author,parent,preceding:1", "author,parent"),
      source: conversationSource(all),
    };
    expect((await keywordContexts([reply2], ctx)).get(12)).toBe(
      "carol\ncarol: Login fails on Android after the update\ndave: Same on iOS",
    );
    expect(await embeddingTexts([reply1], ctx)).toEqual([
      "dave: Same on iOS\nreplying to carol: Login fails on Android after the update",
    ]);
    // The parent itself is a top-level message: its context is the channel's, not the thread's.
    expect((await keywordContexts([parent], ctx)).get(10)).toBe("carol\nalice: great");
  });
});
