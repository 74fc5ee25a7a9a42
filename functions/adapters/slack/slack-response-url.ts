import ky, { HTTPError, type KyInstance, TimeoutError } from "ky";
import { PermanentError, RetryableError } from "../../core/errors";
import type { SlackResponder } from "../../core/ports";
import type { SlackResponseMessage } from "../../core/slack/block-kit";

export interface SlackResponderOptions {
  /** Per attempt; Slack answers a response_url in well under a second. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, on timeouts, network errors, 408/429/5xx. */
  readonly retries?: number;
  /** Upper bound of the exponential backoff between attempts. */
  readonly backoffLimitMs?: number;
}

/**
 * The one HTTP client for Slack's `response_url` (ky: timeout, retries with backoff, Retry-After).
 * A 4xx other than 408/429 (expired_url, invalid_blocks, ...) is permanent: retrying cannot help.
 * Anything else still failing after the retries is retryable: the replies queue redelivers it
 * (a response_url stays valid for 30 minutes).
 */
export class HttpSlackResponder implements SlackResponder {
  private readonly http: KyInstance;

  constructor(opts: SlackResponderOptions = {}) {
    this.http = ky.create({
      timeout: opts.timeoutMs ?? 5_000,
      retry: {
        limit: opts.retries ?? 3,
        methods: ["post"],
        statusCodes: [408, 429, 500, 502, 503, 504],
        backoffLimit: opts.backoffLimitMs ?? 2_000,
        retryOnTimeout: true,
      },
    });
  }

  async post(responseUrl: string, message: SlackResponseMessage): Promise<void> {
    try {
      await this.http.post(responseUrl, { json: message });
    } catch (err) {
      if (err instanceof HTTPError) {
        const status = err.response.status;
        const detail = await err.response.text().catch(() => "");
        const what = `Slack response_url answered ${status}${detail ? `: ${detail.slice(0, 200)}` : ""}`;
        if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          throw new PermanentError("slack_reply_rejected", what, err);
        }
        throw new RetryableError(what, err);
      }
      const what =
        err instanceof TimeoutError ? "Slack response_url timed out" : "Slack response_url unreachable";
      throw new RetryableError(what, err);
    }
  }
}
