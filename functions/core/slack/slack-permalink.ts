import type { EnrichedMessage } from "../ports";

/**
 * The message's Slack permalink: https://<domain>/archives/<channel>/p<ts without the dot>, and
 * for a thread reply ?thread_ts=<parent ts>&cid=<channel> (Slack's own format). Null for other
 * sources and when the workspace domain is unknown (set SLACK_WORKSPACE_DOMAIN or import an export).
 */
export function slackPermalink(m: EnrichedMessage, fallbackDomain?: string): string | null {
  if (m.source.type !== "slack") return null;
  const domain = m.workspaceDomain ?? fallbackDomain;
  if (!domain) return null;
  const ts =
    typeof m.metadata.ts === "string" ? m.metadata.ts : m.externalId.slice(m.externalId.lastIndexOf(":") + 1);
  if (!/^\d+\.\d+$/.test(ts)) return null;
  const link = `https://${domain}/archives/${encodeURIComponent(m.channel)}/p${ts.replace(".", "")}`;
  const threadTs = m.threadId?.slice(m.threadId.lastIndexOf(":") + 1);
  return threadTs && threadTs !== ts
    ? `${link}?thread_ts=${encodeURIComponent(threadTs)}&cid=${encodeURIComponent(m.channel)}`
    : link;
}
