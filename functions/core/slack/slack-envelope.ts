// zod/mini: the Slack webhook's bundle carries this and config only (README "Bundle sizes").
import * as z from "zod/mini";
import { ValidationError } from "../errors";
import { zodDetails } from "../zod-details";

const nonEmpty = () => z.string().check(z.minLength(1));

/** An Events API event_callback envelope: what the webhook enqueues and the ingest consumer maps. */
export const callbackSchema = z.looseObject({
  type: z.literal("event_callback"),
  team_id: nonEmpty(),
  event_id: nonEmpty(),
  event: z.looseObject({ type: z.string() }),
});

export type SlackEnvelopeRoute =
  | { readonly kind: "challenge"; readonly challenge: string }
  | { readonly kind: "event"; readonly eventId: string; readonly teamId: string }
  | { readonly kind: "other"; readonly type: string };

const baseSchema = z.looseObject({ type: nonEmpty() });

const routeSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("url_verification"), challenge: nonEmpty() }),
  callbackSchema,
]);

/** What the webhook needs to know about a verified body: answer it, enqueue it, or ack it. */
export function routeSlackEnvelope(body: unknown): SlackEnvelopeRoute {
  const base = baseSchema.safeParse(body);
  if (!base.success)
    throw new ValidationError("Not a Slack Events API payload", zodDetails(base.error.issues));
  if (base.data.type !== "url_verification" && base.data.type !== "event_callback") {
    return { kind: "other", type: base.data.type };
  }
  const parsed = routeSchema.safeParse(body);
  if (!parsed.success)
    throw new ValidationError("Invalid Slack Events API payload", zodDetails(parsed.error.issues));
  return parsed.data.type === "url_verification"
    ? { kind: "challenge", challenge: parsed.data.challenge }
    : { kind: "event", eventId: parsed.data.event_id, teamId: parsed.data.team_id };
}
