import { RetryableError, ValidationError } from "../errors";
import type { EventQueue } from "../ports";
import { routeSlackEnvelope } from "./slack-envelope";

export type SlackWebhookResult =
  | { readonly kind: "challenge"; readonly challenge: string }
  | { readonly kind: "queued"; readonly eventId: string }
  | { readonly kind: "ignored"; readonly type: string };

/**
 * A verified Events API request: answer url_verification, put an event_callback on the ingest
 * queue as received (one SendMessage: Slack's 3-second budget), ack anything else. Retries
 * (X-Slack-Retry-Num) are enqueued like first attempts: the consumer dedupes on event_id.
 */
export async function acceptSlackRequest(
  deps: { readonly queue: EventQueue },
  rawText: string,
  delivery: { readonly retryNum?: string | undefined; readonly retryReason?: string | undefined } = {},
): Promise<SlackWebhookResult> {
  let body: unknown;
  try {
    body = JSON.parse(rawText);
  } catch (err) {
    throw new ValidationError(`Request body is not valid JSON: ${(err as Error).message}`);
  }
  const route = routeSlackEnvelope(body);
  if (route.kind === "challenge") return route;
  if (route.kind === "other") return { kind: "ignored", type: route.type };
  const attributes: Record<string, string> = { eventId: route.eventId, teamId: route.teamId };
  if (delivery.retryNum) attributes.slackRetryNum = delivery.retryNum;
  if (delivery.retryReason) attributes.slackRetryReason = delivery.retryReason;
  try {
    await deps.queue.send(rawText, attributes);
  } catch (err) {
    // 5xx makes Slack retry the delivery: the event is not lost.
    throw new RetryableError("Could not enqueue the Slack event", err);
  }
  return { kind: "queued", eventId: route.eventId };
}
