import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack rejects replays older than 5 minutes; so do we, in both directions (clock skew). */
const MAX_SKEW_SECONDS = 300;

export type SignatureVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason:
        | "missing_timestamp"
        | "bad_timestamp"
        | "stale_timestamp"
        | "missing_signature"
        | "bad_signature_format"
        | "signature_mismatch";
    };

/** `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`), over the bytes as received. */
export function slackSignature(signingSecret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac("sha256", signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest("hex")}`;
}

/**
 * Verifies Slack's request signing. Never throws on bad input: every malformed, missing or
 * wrong-length header is a rejection (401), not a server error.
 */
export function verifySlackSignature(input: {
  readonly signingSecret: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Buffer | string;
  /** Seconds since the epoch; tests pin it. */
  readonly nowSeconds?: number;
}): SignatureVerdict {
  const { timestamp, signature } = input;
  if (!timestamp) return { ok: false, reason: "missing_timestamp" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad_timestamp" };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > MAX_SKEW_SECONDS) return { ok: false, reason: "stale_timestamp" };
  if (!signature) return { ok: false, reason: "missing_signature" };
  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.body), "utf8");
  const received = Buffer.from(signature, "utf8");
  // timingSafeEqual throws on different lengths; the length of a valid signature is public anyway.
  if (received.length !== expected.length) return { ok: false, reason: "bad_signature_format" };
  return timingSafeEqual(received, expected) ? { ok: true } : { ok: false, reason: "signature_mismatch" };
}
