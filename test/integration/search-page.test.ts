import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MESSAGES, DEMO_SOURCE } from "../../local/demo-messages";
import { ingestAndWait, startTestApp, type TestApp } from "../helpers/local-app";

/**
 * The search page in a real headless browser: Debian's chromium (installed by .ci/run), driven by
 * playwright-core (no browser download). Without CHROMIUM_PATH or /usr/bin/chromium the suite is
 * skipped outside CI; in CI a missing browser fails it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.CI)
  throw new Error(`the browser test needs ${CHROMIUM} (apt-get install chromium)`);
/** Where the test leaves its screenshot (an artifact; README's image is a copy of it). */
const ARTIFACTS = join(process.cwd(), "test-artifacts");

/** The few browser globals the page functions below read (the project compiles without the DOM lib). */
interface BrowserGlobals {
  readonly document: {
    readonly activeElement: unknown;
    getElementById(id: string): { readonly textContent: string | null } | null;
  };
  readonly __pwned?: number;
}

const XSS_MESSAGE = {
  external_id: "page-xss-1",
  channel: "#security",
  author: "mallory@company.com",
  content: 'zanzibar payload <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> end',
  timestamp: "2025-12-09T10:00:00.000Z",
};

describe.skipIf(!HAVE_BROWSER)("search page at GET / in headless chromium (real local stack)", () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  const resultTexts = () =>
    page.locator("#results > li").evaluateAll((items) => items.map((li) => li.textContent ?? ""));
  const waitForStatus = (pattern: RegExp) =>
    page.waitForFunction(
      (source) =>
        new RegExp(source).test(
          (globalThis as unknown as BrowserGlobals).document.getElementById("status")?.textContent ?? "",
        ),
      pattern.source,
    );

  beforeAll(async () => {
    t = await startTestApp("page");
    await ingestAndWait(t, DEMO_SOURCE, [...DEMO_MESSAGES, XSS_MESSAGE]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("GET / serves the page with a CSP that allows only its own script (contract-checked)", async () => {
    const res = await t.request("GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain("unsafe-inline");
    expect(String(res.body)).toContain('<form id="search-form"');
  });

  it("type a query, see results with highlighted terms, page forward and back", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${t.app.url}/`);
    // The search box is found by its label, as a screen reader would announce it.
    const box = page.getByRole("searchbox", { name: "Search messages" });
    await expect(
      box.evaluate((el) => el === (globalThis as unknown as BrowserGlobals).document.activeElement),
    ).resolves.toBe(true);
    await box.fill("token refresh");
    await page.getByRole("radio", { name: "Semantic" }).check();
    await page.keyboard.press("Enter");
    await waitForStatus(/results? on this page \(semantic/);
    const first = await resultTexts();
    expect(first).toHaveLength(10);
    // The page's address keeps the search, so it can be shared.
    expect(new URL(page.url()).searchParams.get("q")).toBe("token refresh");
    expect(await page.locator("#results .ranks").first().textContent()).toMatch(/semantic #1/);

    await page.getByRole("button", { name: "Next page" }).click();
    await page.waitForFunction(
      () =>
        (globalThis as unknown as BrowserGlobals).document.getElementById("page")?.textContent === "Page 2",
    );
    const second = await resultTexts();
    expect(second.length).toBeGreaterThan(0);
    for (const text of second) expect(first).not.toContain(text);

    await page.getByRole("button", { name: "Previous page" }).click();
    await page.waitForFunction(
      () =>
        (globalThis as unknown as BrowserGlobals).document.getElementById("page")?.textContent === "Page 1",
    );
    expect(await resultTexts()).toEqual(first);
    expect(await page.getByRole("button", { name: "Previous page" }).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
  });

  it("switching strategy searches again with it: keyword hits all contain the term", async () => {
    await page.goto(`${t.app.url}/?q=OAuth`);
    await waitForStatus(/\(hybrid/);
    await page.getByRole("radio", { name: "Keyword" }).check();
    await waitForStatus(/\(bm25/);
    const texts = await resultTexts();
    const expected = DEMO_MESSAGES.filter((m) => /oauth/i.test(m.content)).length;
    expect(texts).toHaveLength(expected);
    for (const text of texts) expect(text.toLowerCase()).toContain("oauth");
    expect(await page.locator("#results .ranks").first().textContent()).toMatch(/keyword #1/);
    expect(new URL(page.url()).searchParams.get("strategy")).toBe("bm25");
    // The API's highlights become <mark> elements (rebuilt, not inserted as HTML): one per hit at least.
    const marks = await page.locator("#results .snippet mark").allTextContents();
    expect(marks.length).toBeGreaterThanOrEqual(expected);
    for (const mark of marks) expect(mark.toLowerCase()).toContain("oauth");
  });

  it("filters narrow the search (channel)", async () => {
    await page.goto(`${t.app.url}/?strategy=bm25`);
    await page.getByRole("searchbox", { name: "Search messages" }).fill("OAuth");
    await page.getByLabel("Channel").fill("#auth-team");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await waitForStatus(/\(bm25/);
    const channels = await page.locator("#results .channel").allTextContents();
    expect(channels.length).toBeGreaterThan(0);
    expect(new Set(channels)).toEqual(new Set(["#auth-team"]));
  });

  it("a modifier the API could not use is shown, not silently searched", async () => {
    await page.goto(`${t.app.url}/?q=${encodeURIComponent("OAuth in:#nope")}&strategy=bm25`);
    await waitForStatus(/not applied: in:#nope \(unknown channel/);
    expect(await resultTexts()).toHaveLength(DEMO_MESSAGES.filter((m) => /oauth/i.test(m.content)).length);
  });

  it("message text is shown as text: a <script> in a message runs nothing and adds no element", async () => {
    await page.goto(`${t.app.url}/?q=zanzibar&strategy=bm25`);
    await waitForStatus(/1 result on this page/);
    const snippet = page.locator("#results .snippet").first();
    expect(await snippet.textContent()).toContain("<script>window.__pwned = 1</script>");
    expect(await page.locator("#results script, #results img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__pwned)).toBeUndefined();
  });

  it("leaves a screenshot of a search as an artifact", async () => {
    await page.goto(`${t.app.url}/?q=${encodeURIComponent("login problems after the deploy")}`);
    await waitForStatus(/results? on this page \(hybrid/);
    await mkdir(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, "search-page.png");
    const png = await page.screenshot({ path, fullPage: false });
    expect(png.byteLength).toBeGreaterThan(10_000);
  });
});
