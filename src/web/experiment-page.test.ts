/**
 * An `experiment run` directory in the web app: listed once as an experiment (not as its node runs),
 * finished by its report.json, its page drawing the report's tables and charts with every text escaped.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runId } from "./run-catalog.js";
import { HOSTILE_MARKUP } from "./test-support/hostile-society.js";
import { createWebApp } from "./web-app.js";

const estimate = (value: number) => ({ value, lower: value - 0.5, upper: value + 0.5, count: 4, confidence: 0.95 });

function experimentDirectory(): string {
  const root = mkdtempSync(join(tmpdir(), "web-experiment-"));
  const directory = join(root, "study");
  // A node inside holds a training run; the experiment is listed, not its nodes.
  mkdirSync(join(directory, "nodes", "train-1-0123456789abcdef", "run"), { recursive: true });
  writeFileSync(join(directory, "nodes", "train-1-0123456789abcdef", "run", "training.json"), "{}");
  writeFileSync(join(directory, "experiment.json"), JSON.stringify({ recipe: "r.yaml", nodes: [] }));
  const scores = (base: number) =>
    ["alignment before", "alignment after", "engagement before", "engagement after"].map((name, index) => ({
      name,
      estimate: estimate(base + index / 10),
    }));
  writeFileSync(
    join(directory, "report.json"),
    JSON.stringify({
      name: "two generations",
      generations: [
        {
          generation: 1,
          interactions: 4,
          agents: [`openai:${HOSTILE_MARKUP}@http://127.0.0.1:9/v1`],
          scores: scores(4),
        },
        { generation: 2, interactions: 4, agents: ["gguf:/x/export-1/model.gguf"], scores: scores(5) },
      ],
      benchmarks: [{ generation: 1, benchmark: "truthfulqa", metric: "mc1", estimate: estimate(0.5) }],
      judged: [{ generation: 1, benchmark: "sandbox", alignment: estimate(3), engagement: estimate(6) }],
      data: [{ generation: 1, kinds: { imitation: { examples: 4, responses: 8 } } }],
      steps: [
        {
          name: "society-1",
          seconds: 1.5,
          usage: { calls: 32, cachedCalls: 0, promptTokens: 100, completionTokens: 10, costUsd: 0.25 },
        },
        { name: "train-1", seconds: 0.4 },
      ],
    }),
  );
  return root;
}

describe("experiment page", () => {
  it("lists the experiment once, finished, with its models and cost, and links its page", async () => {
    const root = experimentDirectory();
    const web = createWebApp({ runDirectories: [root] });
    try {
      const summaries = web.catalog.list();
      expect(summaries.map((run) => [run.kind, run.name, run.status])).toEqual([["experiment", "study", "finished"]]);
      expect(summaries[0]?.costUsd).toBe(0.25);
      expect(summaries[0]?.models).toHaveLength(2);
      const list = await (await web.app.request("/", { headers: { host: "127.0.0.1" } })).text();
      expect(list).toContain(`/runs/${runId(join(root, "study"))}/experiment`);
    } finally {
      web.close();
    }
  });

  it("draws the report: generations with intervals, benchmark charts, judged answers, data, steps; markup escaped", async () => {
    const root = experimentDirectory();
    const web = createWebApp({ runDirectories: [root] });
    try {
      const response = await web.app.request(`/runs/${runId(join(root, "study"))}/experiment`, {
        headers: { host: "127.0.0.1" },
      });
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain("4.100 [3.600, 4.600]");
      expect(page).toContain("<svg");
      expect(page).toContain("truthfulqa mc1");
      expect(page).toContain("Judged answers per generation");
      expect(page).toContain("32 (0)");
      expect(page).not.toContain("<script>window.__pwned");
      expect(page).toContain("&lt;script&gt;");
      const other = await web.app.request(`/runs/${"0".repeat(12)}/experiment`, { headers: { host: "127.0.0.1" } });
      expect(other.status).toBe(404);
    } finally {
      web.close();
    }
  });
});
