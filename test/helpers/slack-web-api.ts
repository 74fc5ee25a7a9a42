import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for Slack's Web API (https://api.slack.com/web): POST /api/<method> with a
 * form-encoded body and a bearer token, answered with Slack's {ok, ...} JSON. Serves users.info and
 * conversations.info from the maps it is given, auth.test (`teamId`), users.list (every user, paged
 * by `limit`), conversations.list (the conversations of the asked `types`) and conversations.members (`members`, paged by `limit`),
 * chat.postMessage (to a conversation of `conversations`, kept in `posts`; blocks arrive as a JSON
 * string in the form, as the SDK sends them); `rateLimitFirst` answers the first N calls of a
 * method with 429 and Retry-After, as Slack does when a tier's limit is hit.
 */
export interface SlackWebApiStandIn {
  /** The slackApiUrl for WebClient (ends with /api/). */
  readonly url: string;
  readonly users: Map<string, Record<string, unknown>>;
  readonly conversations: Map<string, Record<string, unknown>>;
  /** conversations.members per conversation id. */
  readonly members: Map<string, string[]>;
  /** auth.test's team_id. */
  teamId: string;
  /** chat.postMessage calls that Slack accepted: the channel, text and blocks. */
  readonly posts: { channel: string; text: string; blocks: unknown[] }[];
  /** Every call as received: method, the id asked for, the HTTP status answered. */
  readonly calls: { method: string; id: string | null; status: number; token: string | null }[];
  rateLimitFirst: Partial<Record<"users.info" | "conversations.info" | "chat.postMessage", number>>;
  close(): Promise<void>;
}

/** One page of `items` as Slack pages members lists: the cursor (opaque in Slack) is the offset here. */
function page<T>(items: readonly T[], form: URLSearchParams) {
  const offset = Number(form.get("cursor") || 0);
  const limit = Number(form.get("limit") || 100);
  const next = offset + limit < items.length ? String(offset + limit) : "";
  return { members: items.slice(offset, offset + limit), response_metadata: { next_cursor: next } };
}

export async function startSlackWebApi(token: string): Promise<SlackWebApiStandIn> {
  const users = new Map<string, Record<string, unknown>>();
  const conversations = new Map<string, Record<string, unknown>>();
  const members = new Map<string, string[]>();
  const calls: SlackWebApiStandIn["calls"] = [];
  const posts: SlackWebApiStandIn["posts"] = [];
  const seen: Record<string, number> = {};
  const api: Pick<SlackWebApiStandIn, "rateLimitFirst" | "teamId"> = {
    rateLimitFirst: {},
    teamId: "T0STANDIN",
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = (req.url ?? "").replace(/^\/api\//, "").split("?")[0] ?? "";
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const auth = req.headers.authorization ?? null;
      const given = auth?.replace(/^Bearer /, "") ?? form.get("token");
      const id = form.get("user") ?? form.get("channel");
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        calls.push({ method, id, status, token: given });
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(JSON.stringify(body));
      };
      seen[method] = (seen[method] ?? 0) + 1;
      const limited = api.rateLimitFirst[method as keyof typeof api.rateLimitFirst] ?? 0;
      if (seen[method]! <= limited)
        return send(429, { ok: false, error: "ratelimited" }, { "retry-after": "1" });
      if (given !== token) return send(200, { ok: false, error: "invalid_auth" });
      if (method === "users.info") {
        const user = id ? users.get(id) : undefined;
        return send(200, user ? { ok: true, user } : { ok: false, error: "user_not_found" });
      }
      if (method === "conversations.info") {
        const channel = id ? conversations.get(id) : undefined;
        return send(200, channel ? { ok: true, channel } : { ok: false, error: "channel_not_found" });
      }
      if (method === "auth.test") return send(200, { ok: true, team_id: api.teamId, user_id: "UBOT" });
      if (method === "users.list") {
        return send(200, { ok: true, ...page([...users.values()], form) });
      }
      if (method === "conversations.list") {
        const types = new Set((form.get("types") ?? "public_channel").split(","));
        const typeOf = (c: Record<string, unknown>) =>
          c.is_im ? "im" : c.is_mpim ? "mpim" : c.is_private ? "private_channel" : "public_channel";
        const channels = [...conversations.values()].filter((c) => types.has(typeOf(c)));
        return send(200, { ok: true, channels, response_metadata: { next_cursor: "" } });
      }
      if (method === "conversations.members") {
        const list = id ? members.get(id) : undefined;
        if (!list) return send(200, { ok: false, error: "channel_not_found" });
        return send(200, { ok: true, ...page(list, form) });
      }
      if (method === "chat.postMessage") {
        const channel = form.get("channel") ?? "";
        if (!conversations.has(channel)) return send(200, { ok: false, error: "channel_not_found" });
        const text = form.get("text") ?? "";
        const blocks = JSON.parse(form.get("blocks") ?? "[]") as unknown[];
        if (!text && blocks.length === 0) return send(200, { ok: false, error: "no_text" });
        posts.push({ channel, text, blocks });
        const ts = `${Math.floor(Date.now() / 1000)}.${String(posts.length).padStart(6, "0")}`;
        return send(200, { ok: true, channel, ts, message: { text, ts } });
      }
      return send(200, { ok: false, error: "unknown_method" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}/api/`,
    users,
    conversations,
    members,
    calls,
    posts,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  });
}
