/**
 * The demo data set loaded by `trisearch seed`: a small, realistic slice of a team's Slack,
 * including the architecture seed's examples (OAuth2 work, the three login problems).
 */
export interface DemoMessage {
  readonly external_id: string;
  readonly channel: string;
  readonly author: string;
  readonly content: string;
  readonly timestamp: string;
  readonly thread_id?: string;
  readonly metadata?: Record<string, unknown>;
}

export const DEMO_SOURCE = { type: "slack", name: "acme" } as const;

const rows: [channel: string, author: string, content: string, thread?: string][] = [
  [
    "#auth-team",
    "charlie@company.com",
    "Hey team, starting OAuth2 implementation today. Plan is the authorization code flow with PKCE for the web app.",
  ],
  [
    "#auth-team",
    "alice@company.com",
    "Nice. Make sure the redirect URIs are registered per environment, staging keeps rejecting localhost.",
    "d1",
  ],
  [
    "#auth-team",
    "charlie@company.com",
    "The authorization code flow is wired up end to end on staging; refresh tokens next.",
    "d1",
  ],
  [
    "#auth-team",
    "bob@company.com",
    "Security review for OAuth: we must validate the state parameter and rotate refresh tokens on every use.",
  ],
  ["#auth-team", "alice@company.com", "Authentication failing after password reset"],
  [
    "#auth-team",
    "dana@company.com",
    "Found it: the password reset handler does not invalidate existing sessions. Bug not fixed yet, patch in review.",
  ],
  [
    "#auth-team",
    "charlie@company.com",
    "Should we use implicit grant for the SPA? No: it is deprecated, we stay on code flow with PKCE.",
  ],
  [
    "#auth-team",
    "bob@company.com",
    "Token introspection endpoint is timing out under load, bumping the cache TTL to 60 seconds.",
  ],
  [
    "#auth-team",
    "erin@company.com",
    "SAML single sign-on for the enterprise tenants is scheduled after the OAuth2 rollout.",
  ],
  [
    "#auth-team",
    "alice@company.com",
    "Bug fixed: expired JWTs were accepted for five minutes because of clock skew tolerance.",
  ],
  [
    "#auth-team",
    "dana@company.com",
    "Two-factor codes by SMS are arriving late for customers in Brazil, switching provider for that region.",
  ],
  [
    "#auth-team",
    "charlie@company.com",
    "OAuth scopes proposal: read:messages, write:messages, admin. Comments welcome before Friday.",
  ],
  ["#mobile", "frank@company.com", "Users can't sign in on mobile"],
  ["#mobile", "grace@company.com", "Login screen stuck on loading"],
  [
    "#mobile",
    "frank@company.com",
    "Hotfix 4.2.1 is in review with Apple, it restores the keychain access group.",
  ],
  [
    "#mobile",
    "heidi@company.com",
    "Push notifications are delayed by up to ten minutes on Android 14 when battery saver is on.",
  ],
  [
    "#mobile",
    "grace@company.com",
    "Dark mode colours for the message list are merged, screenshots in the PR.",
  ],
  [
    "#mobile",
    "frank@company.com",
    "The crash in the image picker is a known bug in the SDK, fixed upstream in 7.3.",
  ],
  [
    "#mobile",
    "heidi@company.com",
    "App size went from 48 MB to 61 MB, mostly the new video codecs. Looking at on-demand resources.",
  ],
  [
    "#mobile",
    "grace@company.com",
    "Deep links from email open the browser instead of the app on iOS 18, universal links config is stale.",
  ],
  [
    "#mobile",
    "ivan@company.com",
    "Beta testers report the biometric prompt appears twice after a cold start.",
  ],
  ["#mobile", "frank@company.com", "Release train: code freeze for 4.3 is Wednesday at noon."],
  [
    "#platform",
    "judy@company.com",
    "Postgres primary hit 85% CPU during the nightly export, moving the export to the read replica.",
  ],
  [
    "#platform",
    "mallory@company.com",
    "Kubernetes upgrade to 1.30 is done on staging; production next Tuesday in the maintenance window.",
  ],
  [
    "#platform",
    "judy@company.com",
    "The search cluster needs a reindex after the analyzer change, expect degraded search for an hour.",
  ],
  [
    "#platform",
    "oscar@company.com",
    "Rate limiting on the public API now returns 429 with a Retry-After header instead of 503.",
  ],
  [
    "#platform",
    "mallory@company.com",
    "Incident: the message queue backed up for 20 minutes because a consumer deployment had zero replicas.",
  ],
  [
    "#platform",
    "oscar@company.com",
    "Terraform state is migrated to the new bucket with locking, please pull before planning.",
  ],
  [
    "#platform",
    "judy@company.com",
    "Log retention drops to 30 days for debug logs starting next month to cut storage costs.",
  ],
  [
    "#platform",
    "peggy@company.com",
    "Load balancer health checks were pointing at /healthz on the wrong port, fixed and redeployed.",
  ],
  [
    "#platform",
    "mallory@company.com",
    "Bug: the deploy pipeline skips database migrations when the image tag is reused. Not fixed, workaround is a new tag.",
  ],
  [
    "#platform",
    "oscar@company.com",
    "We are rotating the TLS certificates for internal services on Thursday, no downtime expected.",
  ],
  [
    "#platform",
    "peggy@company.com",
    "Cost report: compute spend is up 12% month over month, mostly the new GPU nodes for embeddings.",
  ],
  [
    "#platform",
    "judy@company.com",
    "Backups restored successfully in the quarterly disaster recovery drill, RTO was 38 minutes.",
  ],
  [
    "#platform",
    "oscar@company.com",
    "The login service pods are crash looping after the config change, rolling back now.",
  ],
  ["#billing", "trent@company.com", "Quarterly budget review meeting moved to Thursday at 3pm."],
  [
    "#billing",
    "victor@company.com",
    "Stripe webhooks are retrying because our endpoint returns 500 on duplicate invoice events.",
  ],
  ["#billing", "trent@company.com", "Invoices for annual plans now show the prorated amount on upgrade."],
  [
    "#billing",
    "walter@company.com",
    "Customers in the EU get VAT charged twice when they change their billing address mid-cycle. Bug confirmed.",
  ],
  [
    "#billing",
    "victor@company.com",
    "Refund flow is live: support can refund up to 200 EUR without approval.",
  ],
  ["#billing", "trent@company.com", "Dunning emails go out on day 3, 7 and 14 after a failed card payment."],
  ["#billing", "walter@company.com", "The double VAT bug is fixed and the affected customers were credited."],
  [
    "#billing",
    "victor@company.com",
    "Payment page conversion dropped after adding the address form; A/B test next week.",
  ],
  [
    "#billing",
    "trent@company.com",
    "Finance wants monthly revenue exports as CSV in the shared drive by the 5th.",
  ],
  [
    "#billing",
    "walter@company.com",
    "Customers who sign in with Google cannot see their invoices page, the account linking is missing the billing role.",
  ],
  [
    "#platform",
    "peggy@company.com",
    "Password reset emails are stuck in the outbound mail queue, SES sending quota reached.",
  ],
  [
    "#auth-team",
    "erin@company.com",
    "Session timeout is now 12 hours for the web app and 30 days for mobile with refresh tokens.",
  ],
  [
    "#mobile",
    "ivan@company.com",
    "Offline mode: drafts are saved locally and sent when the connection comes back.",
  ],
  [
    "#auth-team",
    "bob@company.com",
    "Brute force protection: accounts lock for 15 minutes after 10 failed login attempts.",
  ],
  [
    "#billing",
    "victor@company.com",
    "Tax IDs are validated against VIES before we remove VAT from an invoice.",
  ],
  // The last days hold a coordination gap (`trisearch gaps`): #auth-team changes OAuth login while
  // #mobile debugs the logouts it causes; different people, and neither channel mentions the other.
  [
    "#auth-team",
    "charlie@company.com",
    "OAuth2 login rollout: refresh tokens now rotate on every use, a client that sends an old refresh token gets invalid_grant and is logged out.",
  ],
  [
    "#mobile",
    "frank@company.com",
    "Mobile users are logged out every morning: the app sends its old refresh token and the login fails with invalid_grant.",
  ],
  [
    "#billing",
    "victor@company.com",
    "Stripe webhook retries again: duplicate invoice events hit our endpoint and it answers 500.",
  ],
  [
    "#auth-team",
    "bob@company.com",
    "OAuth refresh token rotation is live for all clients; reusing a refresh token now revokes the login session.",
  ],
  [
    "#mobile",
    "grace@company.com",
    "Debugging the login loop on iOS: the token refresh call returns invalid_grant after the first use of the refresh token.",
  ],
  // Looks like a gap but is not: the Stripe webhook work is shared by #billing and #platform
  // (victor posts in both, and #platform names #billing).
  [
    "#platform",
    "victor@company.com",
    "Stripe webhook endpoint: adding idempotency keys so duplicate invoice events stop returning 500.",
  ],
  [
    "#platform",
    "oscar@company.com",
    "Stripe webhook duplicate invoice events are deduplicated now, #billing should see the retries stop.",
  ],
  [
    "#billing",
    "walter@company.com",
    "Stripe webhook retries for duplicate invoice events are gone since this morning.",
  ],
];

const start = Date.parse("2025-12-01T09:00:00Z");

export const DEMO_MESSAGES: readonly DemoMessage[] = rows.map(([channel, author, content, thread], i) => ({
  external_id: `demo-${String(i + 1).padStart(3, "0")}`,
  channel,
  author,
  content,
  // Spread over two weeks, 6h37m apart, so date-range filters have something to cut.
  timestamp: new Date(start + i * (6 * 3600 + 37 * 60) * 1000).toISOString(),
  ...(thread ? { thread_id: thread } : {}),
  metadata: { reactions: (i * 7) % 5, mentions: i % 3 === 0 ? ["@here"] : [] },
}));
