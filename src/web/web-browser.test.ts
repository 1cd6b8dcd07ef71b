/**
 * Browser tests (Debian's Chromium through playwright-core): a real `simulate` child process runs
 * against the fake OpenAI-compatible server, whose answers carry hostile markup, while the app serves
 * its run directory. The fake server holds every answer until the society page is open, so the page
 * is known to start before any round completes and must then update as rounds complete.
 * Screenshots go to test-output/web/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runId } from "./run-catalog.js";
import { CONTENT_SECURITY_POLICY } from "./security-middleware.js";
import { startWebServer, type WebServer } from "./start-web-server.js";
import { hostileSocietyAnswer } from "./test-support/hostile-society.js";
import { writeReportFixtures } from "./test-support/report-fixtures.js";
import { createWebApp } from "./web-app.js";

const CHROMIUM = "/usr/bin/chromium";
const ROUNDS = 4;
const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));
const screenshots = fileURLToPath(new URL("../../test-output/web/", import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) process.stderr.write(`web browser tests skipped: ${CHROMIUM} is absent\n`);

let fake: FakeLlmServer;
let web: WebServer;
let browser: Browser;
let simulate: ChildProcess | undefined;
let simulateExit: Promise<number | null>;
let simulateError = "";
let releaseAnswers: () => void = () => {};
const answersHeld = new Promise<void>((resolve) => {
  releaseAnswers = resolve;
});
let runDirectory: string;
let reports: ReturnType<typeof writeReportFixtures>;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(screenshots, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), "web-browser-"));
  mkdirSync(join(root, "reports"));
  runDirectory = join(root, "runs", "live-society");
  reports = writeReportFixtures({ root: join(root, "reports") });
  fake = await startFakeLlmServer({
    latencyMs: 250,
    recordRequests: false,
    respond: async ({ body }) => {
      await answersHeld;
      return hostileSocietyAnswer(body as never);
    },
  });
  web = await startWebServer({ webApp: createWebApp({ runDirectories: [root] }), port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const spec = `openai:fake@${fake.url}/v1`;
  simulate = spawn(
    process.execPath,
    [binPath, "simulate", "--agent-model", spec, "--observer-model", spec, "--run-dir", runDirectory].concat([
      "--size",
      "3",
      "--rounds",
      String(ROUNDS),
      "--json",
    ]),
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        STABLE_ALIGNMENT_CACHE: mkdtempSync(join(tmpdir(), "web-browser-cache-")),
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  simulate.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    simulateError += chunk;
  });
  simulateExit = new Promise((resolve) => simulate?.once("close", (code) => resolve(code)));
}, 120_000);

afterAll(async () => {
  releaseAnswers();
  if (simulate && simulate.exitCode === null) simulate.kill("SIGKILL");
  await browser?.close();
  await web?.close();
  await fake?.close();
});

/** Waits until the app serves the society page of the run (the run and its agents are stored). */
async function societyReady(id: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if ((await fetch(`${web.url}/runs/${id}/society`)).status === 200) return;
    if (simulate?.exitCode !== null) throw new Error(`simulate exited early: ${simulateError}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the society page never appeared: ${simulateError}`);
}

describe.skipIf(!hasChromium)("web app in Chromium", () => {
  it("the society page updates live as rounds complete, click-through reaches an interaction, nothing hostile runs", {
    timeout: 180_000,
  }, async () => {
    const id = runId(runDirectory);
    await societyReady(id);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    let dialogs = 0;
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("dialog", async (dialog) => {
      dialogs += 1;
      await dialog.dismiss();
    });

    const runs = await page.goto(`${web.url}/`);
    expect(runs?.headers()["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.locator("#runs .status-running").count()).toBe(1);
    await page.screenshot({ path: join(screenshots, "runs.png"), fullPage: true });

    const society = await page.goto(`${web.url}/runs/${id}/society`);
    expect(society?.headers()["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.locator("#live-status").textContent()).toBe("running");
    expect(await page.locator("#grid figure").getAttribute("data-scored")).toBe("0");
    await page.screenshot({ path: join(screenshots, "society-start.png"), fullPage: true });

    releaseAnswers();
    await page.waitForSelector(`#grid figure[data-round="${ROUNDS - 1}"][data-scored="9"]`, { timeout: 150_000 });
    expect(Number(await page.locator("#grid").getAttribute("data-refreshes"))).toBeGreaterThanOrEqual(1);
    expect(await page.locator("#round").getAttribute("max")).toBe(String(ROUNDS - 1));
    expect(await page.locator("#rounds-completed").textContent()).toBe(String(ROUNDS));
    await page.waitForSelector("#live-status:text-is('finished')", { timeout: 30_000 });
    expect(await simulateExit).toBe(0);
    await page.screenshot({ path: join(screenshots, "society-live.png"), fullPage: true });

    // The slider (and the before/after choice) refetch the grid in place.
    await page.locator("#phase").selectOption("before");
    await page.waitForSelector('#grid figure[data-phase="before"]');
    await page.locator("#round").fill("0");
    await page.waitForSelector('#grid figure[data-round="0"][data-phase="before"]');

    await page.locator('#grid a[data-agent="4"]').click();
    await page.waitForURL(/\/agents\/4/);
    await page.screenshot({ path: join(screenshots, "agent.png"), fullPage: true });
    await page.locator(`#interactions a[href="/runs/${id}/interactions/${ROUNDS - 1}/4"]`).click();
    await page.waitForURL(/\/interactions\//);
    const draft = (await page.locator("#draft").textContent()) ?? "";
    expect(draft).toContain("<script>window.__pwned");
    expect(draft).toContain("<img src=x onerror=");
    expect(await page.locator("main script, main img, main svg[onload]").count()).toBe(0);
    // Schema 7 records the calls behind the interaction and the memories retrieved.
    expect(await page.locator("table#calls tbody tr").count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator("table#memories").count()).toBe(1);
    await page.screenshot({ path: join(screenshots, "interaction.png"), fullPage: true });

    await page.goto(`${web.url}/runs/${id}/rounds`);
    expect(await page.locator("#rounds tbody tr").count()).toBeGreaterThanOrEqual(ROUNDS);
    await page.screenshot({ path: join(screenshots, "rounds.png"), fullPage: true });

    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(dialogs).toBe(0);
    expect(consoleErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((url) => !url.startsWith(`${web.url}/`))).toEqual([]);
    await page.close();
  });

  it("training and evaluation pages render in Chromium with only same-origin requests", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    const training = await page.goto(`${web.url}/runs/${runId(reports.training)}/training`);
    expect(training?.headers()["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.locator("#training-charts svg").count()).toBe(4);
    await page.screenshot({ path: join(screenshots, "training.png"), fullPage: true });
    await page.goto(`${web.url}/runs/${runId(reports.evaluation)}/evaluation`);
    expect(await page.locator("table.answers tbody tr").count()).toBe(1);
    expect(await page.locator("main script, main img").count()).toBe(0);
    await page.screenshot({ path: join(screenshots, "evaluation.png"), fullPage: true });
    await page.goto(`${web.url}/runs/${runId(reports.likelihood)}/evaluation`);
    await page.screenshot({ path: join(screenshots, "evaluation-likelihood.png"), fullPage: true });
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(requests.filter((url) => !url.startsWith(`${web.url}/`))).toEqual([]);
    await page.close();
  });
});
