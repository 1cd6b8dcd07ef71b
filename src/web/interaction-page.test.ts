/** The interaction page of a running interaction: what is not stored yet reads as "not yet", not as an old run. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTestSimulation } from "../sandbox/test-support/test-simulation.js";
import { runId } from "./run-catalog.js";
import { startWebServer, type WebServer } from "./start-web-server.js";
import { createWebApp } from "./web-app.js";

let server: WebServer;
let id: string;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), "web-interaction-"));
  const runDirectory = join(root, "society");
  await runTestSimulation({ directory: runDirectory, size: 3, rounds: 2 });
  // Agent 4's round-1 interaction as a killed run leaves it: drafted and rated, not revised, no retrievals.
  const database = new Database(join(runDirectory, "run.sqlite"));
  database
    .prepare(
      "UPDATE simulation_interactions SET status = 'running', provenance_recorded = NULL WHERE round = 1 AND agent_id = 4",
    )
    .run();
  database.prepare("DELETE FROM simulation_retrievals WHERE round = 1 AND agent_id = 4").run();
  database.close();
  id = runId(runDirectory);
  server = await startWebServer({ webApp: createWebApp({ runDirectories: [root] }), port: 0 });
});

afterAll(async () => {
  await server.close();
});

const memoriesOf = async (path: string): Promise<string> => {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status).toBe(200);
  const html = await response.text();
  return html.match(/<[^>]*id="memories"[^>]*>[\s\S]*?<\/(p|table)>/)?.[0] ?? "(no memories section)";
};

describe("interaction page memories", () => {
  it("says a running interaction's memories are not stored yet, and shows a completed one's", async () => {
    const running = await memoriesOf(`/runs/${id}/interactions/1/4`);
    expect(running).toContain("not yet");
    expect(running).not.toContain("older than schema");
    const completed = await memoriesOf(`/runs/${id}/interactions/1/3`);
    expect(completed).not.toContain("not yet");
    expect(completed).not.toContain("older than schema");
  });
});
