import { createHash } from "node:crypto";
import type { StoredMessage } from "./model";
import type { Embedder } from "./ports";

/**
 * Message context: what a chat message means depends on who wrote it and what it answers, so
 * each index may hold more than the bare message. The stored `content` and what search returns
 * stay the message itself; only the indexed representation changes.
 *
 * One policy per leg (keyword, vector), each a list of parts:
 * - `author`: the author's name ("Caroline: I went to a support group yesterday");
 * - `channel`: the conversation's name;
 * - `parent`: for a thread reply, the thread's first message;
 * - `preceding:N`: up to N earlier messages of the same conversation (the channel's top level, or
 *   the thread for a reply) within `windowMinutes` of the message, each with its author.
 * A leg's version is a hash of its parts (and the window where neighbours are read), so a change
 * of policy is a change of version: the vector leg's version is part of its vector-space id, which
 * sends it through the model-switch path (a new collection, filled while search reads the old one).
 */

const CONTEXT_PARTS = ["author", "channel", "parent"] as const;
type FlagPart = (typeof CONTEXT_PARTS)[number];

export interface LegContextPolicy {
  readonly author: boolean;
  readonly channel: boolean;
  readonly parent: boolean;
  /** Earlier messages of the conversation to include (0 = none). */
  readonly preceding: number;
}

export interface ContextPolicy {
  readonly keyword: LegContextPolicy;
  readonly vector: LegContextPolicy;
  /** How far back `preceding` reaches. */
  readonly windowMinutes: number;
}

export const NO_CONTEXT: LegContextPolicy = { author: false, channel: false, parent: false, preceding: 0 };
const MAX_PRECEDING = 5;

export class ContextPolicyError extends Error {
  override readonly name = "ContextPolicyError";
}

/** Parses "author,parent,preceding:2" (empty or "none" = no context). */
export function parseLegPolicy(spec: string): LegContextPolicy {
  const parts = spec
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== "" && p !== "none");
  const out: { -readonly [K in keyof LegContextPolicy]: LegContextPolicy[K] } = { ...NO_CONTEXT };
  for (const part of parts) {
    const preceding = /^preceding:(\d+)$/.exec(part);
    if (preceding) {
      const n = Number(preceding[1]);
      if (n > MAX_PRECEDING) throw new ContextPolicyError(`preceding:${n} is more than ${MAX_PRECEDING}`);
      out.preceding = n;
    } else if ((CONTEXT_PARTS as readonly string[]).includes(part)) out[part as FlagPart] = true;
    else
      throw new ContextPolicyError(
        `unknown context part "${part}" (use ${CONTEXT_PARTS.join(", ")}, preceding:N)`,
      );
  }
  return out;
}

export function formatLegPolicy(p: LegContextPolicy): string {
  const parts = CONTEXT_PARTS.filter((k) => p[k]) as string[];
  if (p.preceding > 0) parts.push(`preceding:${p.preceding}`);
  return parts.length > 0 ? parts.join(",") : "none";
}

/** Whether the leg reads other messages (and so must be refreshed when they change). */
function readsNeighbours(p: LegContextPolicy): boolean {
  return p.parent || p.preceding > 0;
}

/** "" for no context (so a deployment without context keeps its vector collection and index). */
export function legVersion(p: LegContextPolicy, windowMinutes: number): string {
  const spec = formatLegPolicy(p);
  if (spec === "none") return "";
  const key = p.preceding > 0 ? `${spec};window=${windowMinutes}` : spec;
  return `ctx.${createHash("sha256").update(key).digest("hex").slice(0, 8)}`;
}

/** The vector space of an embedder under a policy: the model id, plus the context version if any. */
export function vectorSpaceId(modelId: string, policy: ContextPolicy): string {
  const v = legVersion(policy.vector, policy.windowMinutes);
  return v ? `${modelId}+${v}` : modelId;
}

/** The model id inside a vector-space id (what embeds queries: queries carry no context). */
export function modelOfVectorSpace(spaceId: string): string {
  const cut = spaceId.lastIndexOf("+ctx.");
  return cut > 0 ? spaceId.slice(0, cut) : spaceId;
}

/** A neighbouring message as context shows it. */
interface ContextMessage {
  readonly author: string;
  readonly content: string;
}

/** What the store found around one message. */
export interface MessageNeighbours {
  /** The thread's first message, for a reply whose parent exists and is live. */
  readonly parent: ContextMessage | null;
  /** Earlier messages of the conversation within the window, oldest first. */
  readonly preceding: readonly ContextMessage[];
}

const NO_NEIGHBOURS: MessageNeighbours = { parent: null, preceding: [] };

/** How an author id is shown (a directory's display name where one exists). */
export type AuthorName = (author: string) => string;
const asIs: AuthorName = (a) => a;

const line = (m: ContextMessage, name: AuthorName) => `${name(m.author)}: ${m.content}`;

/**
 * The keyword index's `context` field: what the message lacks, never the message itself, so
 * BM25 can weigh it apart from the content (and highlighting stays on the content).
 */
function keywordContext(
  message: Pick<StoredMessage, "author" | "channel">,
  neighbours: MessageNeighbours,
  p: LegContextPolicy,
  name: AuthorName = asIs,
): string {
  const parts: string[] = [];
  if (p.author) parts.push(name(message.author));
  if (p.channel) parts.push(message.channel);
  if (p.parent && neighbours.parent) parts.push(line(neighbours.parent, name));
  if (p.preceding > 0) for (const m of neighbours.preceding.slice(-p.preceding)) parts.push(line(m, name));
  return parts.join("\n");
}

/**
 * The text the vector leg embeds: the message first (with its author when the policy says so),
 * then its context, so truncation at the model's token limit drops context before the message.
 */
export function embeddingText(
  message: Pick<StoredMessage, "author" | "channel" | "content">,
  neighbours: MessageNeighbours,
  p: LegContextPolicy,
  name: AuthorName = asIs,
): string {
  const self = p.author ? `${name(message.author)}: ${message.content}` : message.content;
  const context: string[] = [];
  if (p.channel) context.push(`in ${message.channel}`);
  if (p.parent && neighbours.parent) context.push(`replying to ${line(neighbours.parent, name)}`);
  if (p.preceding > 0) for (const m of neighbours.preceding.slice(-p.preceding)) context.push(line(m, name));
  return context.length > 0 ? `${self}\n${context.join("\n")}` : self;
}

/** How far the store must look around a message for a policy (both legs together). */
export interface NeighbourReach {
  readonly parent: boolean;
  readonly preceding: number;
  readonly windowMinutes: number;
}

export function neighbourReach(policy: ContextPolicy): NeighbourReach {
  return {
    parent: policy.keyword.parent || policy.vector.parent,
    preceding: Math.max(policy.keyword.preceding, policy.vector.preceding),
    windowMinutes: policy.windowMinutes,
  };
}

/** Reads a message's neighbours (the store that holds the conversation). */
export interface ContextSource {
  neighbours(
    messages: readonly StoredMessage[],
    reach: NeighbourReach,
  ): Promise<Map<number, MessageNeighbours>>;
}

/** What the index writers need to build representations; absent = the bare message. */
export interface IndexContext {
  readonly policy: ContextPolicy;
  readonly source: ContextSource;
  readonly authorName?: AuthorName;
}

async function neighboursFor(
  rows: readonly StoredMessage[],
  leg: LegContextPolicy,
  ctx: IndexContext,
): Promise<Map<number, MessageNeighbours>> {
  if (!readsNeighbours(leg) || rows.length === 0) return new Map();
  return ctx.source.neighbours(rows, {
    parent: leg.parent,
    preceding: leg.preceding,
    windowMinutes: ctx.policy.windowMinutes,
  });
}

/** The texts to embed for `rows`, in order. */
export async function embeddingTexts(
  rows: readonly StoredMessage[],
  ctx: IndexContext | undefined,
): Promise<string[]> {
  if (!ctx || formatLegPolicy(ctx.policy.vector) === "none") return rows.map((r) => r.content);
  const around = await neighboursFor(rows, ctx.policy.vector, ctx);
  return rows.map((r) =>
    embeddingText(r, around.get(r.id) ?? NO_NEIGHBOURS, ctx.policy.vector, ctx.authorName),
  );
}

/** The keyword `context` field of each row (no entry = no context). */
export async function keywordContexts(
  rows: readonly StoredMessage[],
  ctx: IndexContext | undefined,
): Promise<Map<number, string>> {
  if (!ctx || formatLegPolicy(ctx.policy.keyword) === "none") return new Map();
  const around = await neighboursFor(rows, ctx.policy.keyword, ctx);
  return new Map(
    rows.map((r) => [
      r.id,
      keywordContext(r, around.get(r.id) ?? NO_NEIGHBOURS, ctx.policy.keyword, ctx.authorName),
    ]),
  );
}

/**
 * An embedder seen under a context policy: the same model, but its vectors live in their own
 * vector space (modelId + context version), so a policy change is a model switch to the reconciler.
 */
export function inVectorSpace(embedder: Embedder, policy: ContextPolicy): Embedder {
  return asVectorSpace(embedder, vectorSpaceId(embedder.modelId, policy));
}

/** The embedder under a given vector-space id (a collection's recorded id, context version included). */
export function asVectorSpace(embedder: Embedder, spaceId: string): Embedder {
  return spaceId === embedder.modelId ? embedder : new VectorSpaceEmbedder(embedder, spaceId);
}

class VectorSpaceEmbedder implements Embedder {
  readonly dimension: number;
  constructor(
    private readonly model: Embedder,
    readonly modelId: string,
  ) {
    this.dimension = model.dimension;
  }
  embed(texts: readonly string[]): Promise<number[][]> {
    return this.model.embed(texts);
  }
  embedQuery(text: string): Promise<number[]> {
    return this.model.embedQuery(text);
  }
  embedForSearch(texts: readonly string[]): Promise<number[][]> {
    return this.model.embedForSearch(texts);
  }
}
