import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runId } from "./run-catalog.js";
import { startWebServer, type WebServer } from "./start-web-server.js";
import { HOSTILE_MARKUP } from "./test-support/hostile-society.js";
import { metricsStep as step, writeReportFixtures } from "./test-support/report-fixtures.js";
import { createTrainingMetricsTail } from "./training-metrics-tail.js";
import { createWebApp, type WebApp } from "./web-app.js";

let root: string;
let server: WebServer;
let webApp: WebApp;
const training = () => join(root, "train-a");
const evaluation = () => join(root, "eval-a");
const likelihood = () => join(root, "eval-b");

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "web-train-eval-"));
  writeReportFixtures({ root });
  webApp = createWebApp({ runDirectories: [root], pollIntervalMs: 50 });
  server = await startWebServer({
    webApp,
    port: 0,
  });
});

afterAll(async () => {
  await server.close();
});

describe("training metrics tail", () => {
  it("reads only appended lines, keeps a torn line for later and starts over when the file shrinks", () => {
    const directory = mkdtempSync(join(tmpdir(), "metrics-tail-"));
    const path = join(directory, "metrics.jsonl");
    const tail = createTrainingMetricsTail({ path });
    expect(tail.read().steps).toHaveLength(0);
    writeFileSync(path, step(1) + step(2).slice(0, 20));
    expect(tail.read().steps.map((line) => line.step)).toEqual([1]);
    appendFileSync(
      path,
      `${step(2).slice(20)}not json\n${JSON.stringify({ type: "eval", step: 2, loss: 1.2, preferenceAccuracy: 0.75, prompts: 4 })}\n`,
    );
    const read = tail.read();
    expect(read.steps.map((line) => line.step)).toEqual([1, 2]);
    expect(read.steps[1]?.terms).toEqual({ sft: 1.5, penalty: 0.2 });
    expect(read.evaluations).toEqual([{ step: 2, loss: 1.2, preferenceAccuracy: 0.75 }]);
    writeFileSync(path, step(1));
    expect(tail.read().steps.map((line) => line.step)).toEqual([1]);
  });
});

describe("training page", () => {
  it("charts loss, terms, learning rate and accuracy, and grows as metrics are appended", async () => {
    const id = runId(training());
    const html = await (await fetch(`${server.url}/runs/${id}/training`)).text();
    expect(html).toContain("loss stable-alignment");
    expect(html).toContain('data-steps="2"');
    for (const title of ["Loss", "Objective terms", "Learning rate", "Held-out preference accuracy"]) {
      expect(html).toContain(`<title>${title}</title>`);
    }
    expect(html).toContain('data-series="sft"');
    expect(html).toContain('data-series="penalty"');
    appendFileSync(join(training(), "metrics.jsonl"), step(3));
    const fragment = await (await fetch(`${server.url}/runs/${id}/training/charts`)).text();
    expect(fragment).toContain('data-steps="3"');
  });

  it("sends an update event when the metrics file grows", async () => {
    const id = runId(training());
    const controller = new AbortController();
    const response = await fetch(`${server.url}/runs/${id}/events`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("event: ready")) text += decoder.decode((await reader.read()).value);
    appendFileSync(join(training(), "metrics.jsonl"), step(4));
    while (!text.includes("event: update")) text += decoder.decode((await reader.read()).value);
    expect(text).toMatch(/"metricsBytes":\d+/);
    expect(webApp.catalog.activeWatchers()).toBe(1);
    controller.abort();
    // The stream's end unsubscribes; the run's poller stops with its last client.
    const deadline = Date.now() + 10_000;
    while (webApp.catalog.activeWatchers() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(webApp.catalog.activeWatchers()).toBe(0);
  });
});

describe("evaluation page", () => {
  it("shows a generation report with answers side by side, escaped", async () => {
    const html = await (await fetch(`${server.url}/runs/${runId(evaluation())}/evaluation`)).text();
    expect(html).toContain("Answers side by side");
    expect(html).toContain("<th>model-a</th><th>model-b</th>");
    expect(html).toContain("Buy it.");
    expect(html).toContain("&lt;script&gt;");
    expect(html).not.toContain(HOSTILE_MARKUP);
    expect(html).toContain("5.000 [4.500, 5.500]");
    expect(html).toContain("<svg");
  });

  it("shows the human judge beside the LM judge when a study's verdicts are in the report", async () => {
    const report = JSON.parse(readFileSync(join(evaluation(), "report.json"), "utf8"));
    const winRate = (value: number) => ({ value, lower: value - 0.25, upper: value + 0.25, count: 6 });
    report.benchmarks[0].human = [
      {
        model: "model-a",
        opponent: "model-b",
        study: "human-eval:study-1",
        winRate: winRate(0.75),
        judgeWinRate: winRate(0.5),
        agreement: 0.5,
      },
    ];
    const parent = mkdtempSync(join(tmpdir(), "web-human-"));
    const directory = join(parent, "eval-human");
    mkdirSync(directory);
    writeFileSync(join(directory, "run.sqlite"), "");
    writeFileSync(join(directory, "report.json"), JSON.stringify(report));
    const humanServer = await startWebServer({ webApp: createWebApp({ runDirectories: [parent] }), port: 0 });
    const html = await (await fetch(`${humanServer.url}/runs/${runId(directory)}/evaluation`)).text();
    await humanServer.close();
    const table = html.match(/<table id="human-hh-generation">[\s\S]*?<\/table>/)?.[0] ?? "(no human table)";
    expect(table).toContain("human (human-eval:study-1)");
    expect(table).toContain("0.750 [0.500, 1.000]");
    expect(table).toContain("0.500 [0.250, 0.750]");
  });

  it("shows a likelihood report with the report's bar chart, labels escaped", async () => {
    const html = await (await fetch(`${server.url}/runs/${runId(likelihood())}/evaluation`)).text();
    expect(html).toContain("truthfulqa");
    expect(html).toContain("0.400 [0.200, 0.600]");
    expect(html).toContain("<title>truthfulqa: mc1</title>");
    expect(html).not.toContain("<b>model</b>");
    expect(html).toContain("&lt;b&gt;model&lt;/b&gt;");
  });

  it("lists all three runs on the runs page", async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    expect(html).toContain(`/runs/${runId(training())}/training`);
    expect(html).toContain(`/runs/${runId(evaluation())}/evaluation`);
    expect(html).toContain(`/runs/${runId(likelihood())}/evaluation`);
    expect(html).toContain("/models/tiny");
  });
});
