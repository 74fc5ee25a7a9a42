import { createHash } from "node:crypto";
import middy from "@middy/core";
import { type HttpResult, httpErrorHandler } from "../shared/http";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { SEARCH_PAGE_SCRIPT, SEARCH_PAGE_STYLE, searchPageHtml } from "../shared/search-page";

// The page's one script and one style are inline (no second request, nothing to host), so the
// Content-Security-Policy allows exactly those two by hash: any other script, injected or not, is refused.
const cspHash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
const CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SEARCH_PAGE_SCRIPT)}`,
  `style-src ${cspHash(SEARCH_PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
const PAGE = searchPageHtml();

/** GET /: the search page (static HTML; its script calls GET /search beside it). */
async function searchPageHandler(): Promise<HttpResult> {
  return {
    statusCode: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
    body: PAGE,
  };
}

export const handler = middy(searchPageHandler)
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(httpErrorHandler());
