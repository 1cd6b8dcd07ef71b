import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTestSimulation } from "../sandbox/test-support/test-simulation.js";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { runId } from "./run-catalog.js";
import { startWebServer, type WebServer } from "./start-web-server.js";
import { HOSTILE_MARKUP, hostileSocietyAnswer } from "./test-support/hostile-society.js";
import { createWebApp } from "./web-app.js";

let root: string;
let runDirectory: string;
let server: WebServer;
let id: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "web-pages-"));
  runDirectory = join(root, "runs", "society-a");
  const model = (modelId: string) =>
    createScriptedModel({
      modelId,
      capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
      respond: (request) => hostileSocietyAnswer(request as never),
    });
  await runTestSimulation({
    directory: runDirectory,
    size: 3,
    rounds: 2,
    agentLanguageModels: [model("hostile-agent")],
    observer: model("hostile-observer"),
  });
  id = runId(runDirectory);
  server = await startWebServer({ webApp: createWebApp({ runDirectories: [root] }), port: 0 });
});

afterAll(async () => {
  await server.close();
});

const page = async (path: string) => {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, html: await response.text() };
};

describe("runs page", () => {
  it("lists the simulation with its status, models and cost, and follows the run lock", async () => {
    const finished = await page("/");
    expect(finished.status).toBe(200);
    expect(finished.html).toContain(`href="/runs/${id}/society"`);
    expect(finished.html).toContain("runs/society-a");
    expect(finished.html).toContain('class="status-finished"');
    expect(finished.html).toContain("hostile-agent");

    // A lock held by a live process (this one) means running; a dead holder's lock means interrupted.
    const lock = join(runDirectory, "run.lock");
    writeFileSync(lock, JSON.stringify({ pid: process.pid, command: "simulate", startedAt: "now" }));
    expect((await page("/")).html).toContain('class="status-running"');
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, command: "simulate", startedAt: "then" }));
    expect((await page("/")).html).toContain('class="status-finished"');
    writeFileSync(lock, "");
  });
});

describe("society, agent, interaction and rounds pages", () => {
  it("draws one linked heat-map cell per agent for the chosen round and phase", async () => {
    const society = await page(`/runs/${id}/society`);
    expect(society.status).toBe(200);
    expect(society.html.match(/<rect [^>]*fill="#[0-9a-f]{6}"/g)?.length).toBeGreaterThanOrEqual(9);
    expect(society.html).toContain('data-round="1"');
    for (let agent = 0; agent < 9; agent += 1)
      expect(society.html).toContain(`href="/runs/${id}/agents/${agent}?round=1"`);

    const fragment = await page(`/runs/${id}/society/grid?round=0&phase=before`);
    expect(fragment.html.startsWith("<figure")).toBe(true);
    expect(fragment.html).toContain('data-round="0"');
    expect(fragment.html).toContain('data-phase="before"');
    expect(fragment.html).toMatch(/9 of 9 agents scored/);

    expect((await page(`/runs/${id}/society?round=abc`)).status).toBe(400);
    expect((await page(`/runs/${id}/society?phase=during`)).status).toBe(400);
    expect((await page("/runs/000000000000/society")).status).toBe(404);
  });

  it("lists an agent's interactions and shows one with hostile model text escaped", async () => {
    const agent = await page(`/runs/${id}/agents/4`);
    expect(agent.status).toBe(200);
    expect(agent.html).toContain(`href="/runs/${id}/interactions/0/4"`);
    expect(agent.html).toContain(`href="/runs/${id}/interactions/1/4"`);

    const interaction = await page(`/runs/${id}/interactions/1/4`);
    expect(interaction.status).toBe(200);
    expect(interaction.html).toContain('id="draft"');
    expect(interaction.html).toContain("&lt;script&gt;window.__pwned");
    expect(interaction.html).toContain("&lt;img src=x onerror=");
    expect(interaction.html).not.toContain(HOSTILE_MARKUP);
    expect(interaction.html).not.toContain("<script>window");
    expect(interaction.html).not.toContain("<img src=x");
    expect(interaction.html).not.toContain("<svg onload");
    // The only script is the app's own.
    expect(interaction.html.match(/<script/g)).toEqual(["<script"]);
    expect(interaction.html).toContain('<script src="/static/app.js"');
    expect(interaction.html).toContain("Observer alignment");
    expect(interaction.html).toContain("not recorded");
    expect((await page(`/runs/${id}/interactions/9/4`)).status).toBe(404);
  });

  it("shows per-round means with intervals, overall and by initial label", async () => {
    const rounds = await page(`/runs/${id}/rounds`);
    expect(rounds.status).toBe(200);
    const rows = rounds.html.match(/<tr><td>\d+<\/td><td>(all|good|bad)<\/td>/g) ?? [];
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((row) => row.includes(">all<"))).toHaveLength(2);
    expect(rounds.html).toMatch(/\d\.\d\d \[\d\.\d\d, \d\.\d\d\]/);
    expect(rounds.html).toContain("<polyline");
  });
});
