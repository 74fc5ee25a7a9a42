import { LogLevel, type RetryOptions, WebClient } from "@slack/web-api";

/** Where a client points and how it retries: a test's stand-in of the Web API, faster retries. */
export interface SlackWebClientOptions {
  readonly apiUrl?: string | undefined;
  readonly retryConfig?: RetryOptions;
}

/**
 * A Lambda has minutes, not Slack's default half hour of retries: a few attempts, each waiting at
 * least what a 429's Retry-After asks (the client pauses its queue for it), then the caller decides.
 */
const LAMBDA_RETRIES: RetryOptions = { retries: 2, factor: 2, minTimeout: 1_000, maxTimeout: 5_000 };

/** The one way the Slack adapters build @slack/web-api's client (5-s calls, errors-only logging). */
export function slackWebClient(token: string, opts: SlackWebClientOptions = {}): WebClient {
  return new WebClient(token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    retryConfig: opts.retryConfig ?? LAMBDA_RETRIES,
    logLevel: LogLevel.ERROR,
    timeout: 5_000,
  });
}
