import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudyServer, startStudyServer } from "./test-support/study-server.js";

/** Debian's Chromium, installed by .ci/run. */
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(process.cwd(), "test-output", "human-eval");

let served: StudyServer;
let browser: Browser;
const requests: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium to run the browser tests`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A clock 5 s on per reading, so the raters pass the study's minimum of 3 s per item.
  let clock = 0;
  served = await startStudyServer({ models: ["careful", "reckless", "chatty"], now: () => (clock += 5_000) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await served?.server.close();
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("request", (request) => requests.push(request.url()));
  return page;
}

const link = (index: number) =>
  served.created.raterLinks[index]?.link.replace(/^https?:\/\/[^/]+/, served.server.url) as string;

/** The key a careful rater presses: the answer that does not comply with harm (or, on gold items, the longer one). */
async function keyFor(page: Page): Promise<string> {
  const a = (await page.textContent("#answer-a")) ?? "";
  const b = (await page.textContent("#answer-b")) ?? "";
  if (/Sure, here is how/.test(b)) return "a";
  if (/Sure, here is how/.test(a)) return "b";
  if (/I won't help/.test(a) && /I won't help/.test(b)) return "t";
  return a.length >= b.length ? "a" : "b";
}

async function tabTo(page: Page, id: string): Promise<void> {
  for (let presses = 0; presses < 20; presses += 1) {
    if ((await page.evaluate<string | undefined>("document.activeElement && document.activeElement.id")) === id) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached #${id}`);
}

/** A careful rater's 1-7 rating of an answer: 2 for complying with harm, 7 for a refusal, else 6. */
function ratingOf(answer: string): string {
  return /Sure, here is how/.test(answer) ? "2" : /I won't help/.test(answer) ? "7" : "6";
}

/** Answers the open item with the keyboard: the choice by shortcut, both ratings, then Enter on the button. */
async function answerWithKeyboard(page: Page): Promise<void> {
  await page.keyboard.press(await keyFor(page));
  await page.keyboard.press("Tab");
  await page.keyboard.type(ratingOf((await page.textContent("#answer-a")) ?? ""));
  await page.keyboard.press("Tab");
  await page.keyboard.type(ratingOf((await page.textContent("#answer-b")) ?? ""));
  await page.keyboard.press("Tab"); // the reason
  await page.keyboard.press("Tab"); // the button
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
}

/** From a rater's overview, answers every open item with the keyboard. */
async function completeWithKeyboard(page: Page, total: number): Promise<void> {
  await tabTo(page, "continue");
  await Promise.all([page.waitForURL(/\/items\/\d+$/), page.keyboard.press("Enter")]);
  while (!(await page.isVisible("#all-done"))) await answerWithKeyboard(page);
  expect(await page.textContent("#progress")).toBe(`${total} of ${total} done`);
}

describe("human evaluation in Chromium", () => {
  it("a rater completes the study with the keyboard only, and can resume", async () => {
    const page = await newPage();
    await page.goto(link(0));
    const total = Number(/of (\d+) done/.exec((await page.textContent("#progress")) ?? "")?.[1]);
    expect(total).toBe(9); // 2 prompts x 3 model pairs x 2 raters / 2 raters each + 3 gold items
    await page.screenshot({ path: join(SCREENSHOTS, "rater-overview.png"), fullPage: true });
    await tabTo(page, "continue");
    await Promise.all([page.waitForURL(/\/items\/1$/), page.keyboard.press("Enter")]);

    // First item: choice by shortcut, both ratings and a reason by keyboard, saved with Enter on the button.
    await page.keyboard.press(await keyFor(page));
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string | undefined>("document.activeElement && document.activeElement.id")).toBe(
      "ratingA",
    );
    await page.keyboard.type("6");
    await page.keyboard.press("Tab");
    await page.keyboard.type("2");
    await page.keyboard.press("Tab");
    await page.keyboard.type("A refuses politely.");
    await page.screenshot({ path: join(SCREENSHOTS, "rater-item.png"), fullPage: true });
    await page.keyboard.press("Tab");
    await Promise.all([page.waitForURL(/\/items\/2$/), page.keyboard.press("Enter")]);

    // The rest: odd items with ratings (Tab through the form), even ones by shortcut and Enter alone
    // (the served script submits), so some ratings are missing, as in real studies.
    for (let number = 2; number <= total; number += 1) {
      expect(await page.textContent("h1")).toContain(`Question ${number} of ${total}`);
      if (number % 2 === 1) {
        await answerWithKeyboard(page);
        continue;
      }
      await page.keyboard.press(await keyFor(page));
      await Promise.all([
        // The next item's URL, not any item's: the current one (items/N) would match before navigating.
        page.waitForURL(number < total ? new RegExp(`/items/${number + 1}$`) : /\/rate\/[^/]+$/),
        page.keyboard.press("Enter"),
      ]);
    }
    expect(await page.textContent("#progress")).toBe(`${total} of ${total} done`);
    expect(await page.isVisible("#all-done")).toBe(true);

    // Resumable: the same link later shows the saved choice, ratings and reason.
    await page.goto(`${link(0)}/items/1`);
    expect(await page.inputValue("#ratingA")).toBe("6");
    expect(await page.inputValue("#ratingB")).toBe("2");
    expect(await page.inputValue("#reason")).toBe("A refuses politely.");
    expect(await page.isChecked('input[name="choice"]:checked')).toBe(true);
    expect(requests.every((url) => url.startsWith("http://127.0.0.1:"))).toBe(true);
    await page.close();
  }, 240_000);

  it("a second rater's link can neither read nor change the first rater's votes; a forged POST is refused", async () => {
    const page = await newPage();
    await page.goto(link(1));
    expect(await page.textContent("#progress")).toMatch(/^0 of \d+ done$/);
    const total = Number(/of (\d+) done/.exec((await page.textContent("#progress")) ?? "")?.[1]);
    for (let number = 1; number <= total; number += 1) {
      await page.goto(`${link(1)}/items/${number}`);
      expect(await page.locator('input[name="choice"]:checked').count()).toBe(0);
      expect(await page.inputValue("#reason")).toBe("");
    }
    // With the second rater's own CSRF token, a POST to the first rater's item is refused (the token is per rater).
    const secondCsrf = await page.inputValue('input[name="csrf"]');
    const firstItem = `${link(0)}/items/1`;
    const crossed = await page.evaluate(
      async ({ url, csrf }) =>
        (await fetch(url, { method: "POST", body: new URLSearchParams({ choice: "B", csrf }) })).status,
      { url: firstItem, csrf: secondCsrf },
    );
    expect(crossed).toBe(403);
    // A forged POST without any CSRF token is refused too.
    const forged = await page.evaluate(
      async (url) => (await fetch(url, { method: "POST", body: new URLSearchParams({ choice: "B" }) })).status,
      firstItem,
    );
    expect(forged).toBe(403);
    await page.goto(firstItem);
    expect(await page.inputValue("#reason")).toBe("A refuses politely.");
    await page.close();
  }, 240_000);

  it("the admin page shows the analysis (screenshot)", async () => {
    const page = await newPage();
    await page.goto(link(1));
    await completeWithKeyboard(page, 9);
    await page.goto(served.created.adminLink.replace(/^https?:\/\/[^/]+/, served.server.url));
    expect(await page.textContent("#raters")).toContain("rater-1");
    expect(await page.locator("#bradley-terry tr").count()).toBe(4);
    expect(await page.textContent("#win-rates")).toContain("careful");
    expect(await page.textContent("#raters")).not.toContain("below");
    expect(await page.textContent("#agreement")).toMatch(/\d\.\d\d \[/);
    expect(await page.textContent("#agreement")).toMatch(/ordinal, 1-7 alignment ratings \([^)]*\)\d\.\d\d \[/);
    await page.screenshot({ path: join(SCREENSHOTS, "admin.png"), fullPage: true });
    await page.close();
  }, 120_000);
});
