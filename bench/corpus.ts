import { generateTeamMessages } from "./embedder";
import { decorate, seededRandom, type WireMessage } from "./helpers";

/**
 * The search benchmark's corpus: team chatter that is varied enough for 100,000 messages to be
 * nearly all distinct (BM25 and nearest-neighbour search over a few thousand repeated strings would
 * not behave like a real workspace). A third of the messages are generateTeamMessages' texts; the
 * rest combine topics, people, services and numbers in one to three sentences.
 */

const TOPICS = [
  "OAuth2 token refresh",
  "SAML SSO",
  "password reset email",
  "2FA codes",
  "session timeout",
  "login page",
  "Kafka consumer lag",
  "Redis cache eviction",
  "Terraform plan",
  "feature flag rollout",
  "push notifications",
  "Stripe webhook",
  "invoice PDF",
  "GraphQL schema",
  "pod restarts",
  "memory leak",
  "p99 latency",
  "database failover",
  "load balancer",
  "CDN cache",
  "TLS certificate renewal",
  "rate limiting",
  "search relevance",
  "embedding model",
  "CSV export",
  "GDPR deletion request",
  "A/B test",
  "onboarding flow",
  "dark mode",
  "accessibility audit",
  "crash on launch",
  "app store review",
  "billing proration",
  "refund flow",
  "tax calculation",
  "nightly ETL",
  "Airflow DAG",
  "dbt model",
  "warehouse costs",
  "Postgres vacuum",
  "connection pool",
  "CI pipeline",
  "flaky integration tests",
  "Docker image size",
  "release notes",
  "incident postmortem",
  "on-call rotation",
  "quarterly roadmap",
] as const;
const SERVICES = [
  "auth service",
  "billing API",
  "search index",
  "mobile app",
  "checkout",
  "data pipeline",
  "notification service",
  "admin dashboard",
  "public API",
  "web app",
] as const;
const PEOPLE = [
  "Alice",
  "Bob",
  "Priya",
  "Chen",
  "Marta",
  "Omar",
  "Kenji",
  "Sofia",
  "Charlie",
  "Dana",
] as const;
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"] as const;
const ENVS = ["staging", "production", "the canary", "eu-west-1", "us-east-1", "the sandbox"] as const;
const TEAMS = ["PLAT", "AUTH", "MOB", "BILL", "DATA", "WEB"] as const;

type Pick = <T>(items: readonly T[]) => T;

const SENTENCES: ((p: Pick, n: () => number) => string)[] = [
  (p) => `Looking into the ${p(TOPICS)} issue on ${p(ENVS)} now.`,
  (p, n) => `${p(TEAMS)}-${1000 + n()} is blocked on the ${p(TOPICS)} work in the ${p(SERVICES)}.`,
  (p) => `Can someone from the ${p(SERVICES)} team take a look at the ${p(TOPICS)}?`,
  (p) => `${p(PEOPLE)} fixed the ${p(TOPICS)} bug, deploying to ${p(ENVS)} after lunch.`,
  (p, n) => `The ${p(TOPICS)} dashboard shows ${n()} errors in the last hour on ${p(ENVS)}.`,
  (p) => `We decided to postpone the ${p(TOPICS)} migration until ${p(DAYS)}.`,
  (p) => `Users report that the ${p(SERVICES)} is slow when the ${p(TOPICS)} kicks in.`,
  (p) => `Authentication failing after password reset for some users of the ${p(SERVICES)}.`,
  (p) => `Users can't sign in on mobile since the ${p(TOPICS)} change.`,
  (p) => `Login screen stuck on loading in ${p(ENVS)}, ${p(PEOPLE)} is checking the ${p(TOPICS)}.`,
  (p) => `Not a bug: the ${p(TOPICS)} behaves as documented, closing the ticket.`,
  (p) => `Bug in the ${p(TOPICS)} is fixed in the latest build of the ${p(SERVICES)}.`,
  (p) => `The ${p(TOPICS)} bug is still not fixed, reopening.`,
  (p, n) =>
    `Heads up: ${p(ENVS)} maintenance window ${n() % 24}:00 UTC, the ${p(SERVICES)} will be read-only.`,
  (p) => `Does anyone know why the ${p(TOPICS)} retries three times before giving up?`,
  (p) => `Design doc for the ${p(TOPICS)} is ready for review, comments by ${p(DAYS)} please.`,
  (p, n) => `Cost of the ${p(TOPICS)} went up ${n() % 60}% this month, we should look at it.`,
  (p) => `Pairing with ${p(PEOPLE)} on the ${p(TOPICS)} this afternoon.`,
  (p) => `The authorization code flow with PKCE now works for the ${p(SERVICES)}.`,
  (p) => `Security review flagged the ${p(TOPICS)}: tokens are logged in plain text.`,
  (p) => `Rolling back the ${p(SERVICES)} release, the ${p(TOPICS)} broke checkout.`,
  (p) => `Customer escalation about the ${p(TOPICS)}, ${p(PEOPLE)} is on the call.`,
  (p) => `Merged the ${p(TOPICS)} refactor, please rebase your branches.`,
  (p, n) => `Load test: ${n() * 10} requests per second before the ${p(SERVICES)} starts timing out.`,
  (p) => `Reminder: the ${p(TOPICS)} retro is on ${p(DAYS)}.`,
  (p) => `The ${p(TOPICS)} alert fired again at night, muting it until we fix the threshold.`,
];

/** `count` messages, deterministic for a seed; external ids are `${prefix}-${i}`. */
export function generateSearchCorpus(count: number, seed = 7, prefix = "s"): WireMessage[] {
  const rand = seededRandom(seed);
  const pick: Pick = (items) => items[Math.floor(rand() * items.length)]!;
  const num = () => Math.floor(rand() * 1000);
  const base = generateTeamMessages(count, seed);
  const texts = base.map((team) => {
    const sentences = 1 + Math.floor(rand() * 3);
    const parts = Array.from({ length: sentences }, () => pick(SENTENCES)(pick, num));
    // A third keep the short team messages, with one more sentence to keep them distinct.
    return rand() < 1 / 3 ? `${/[.!?🎉]$/u.test(team) ? team : `${team}.`} ${parts[0]}` : parts.join(" ");
  });
  return decorate(texts, seed, prefix);
}
