/**
 * Generations' societies: disjoint question slices, the trained model in the entries marked
 * `trained` only (served as the recipe says), the observer and the prior unchanged.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planNodes } from "./experiment-nodes.js";
import { parseRecipe } from "./recipe.js";
import { societyConfiguration } from "./society-configuration.js";

const directory = mkdtempSync(join(tmpdir(), "society-configuration-"));
writeFileSync(
  join(directory, "questions.txt"),
  `${Array.from({ length: 9 }, (_, index) => `Question ${index}?`).join("\n")}\n`,
);

const recipeText = (serving: string) => `generations: 3
society:
  size: 2
  rounds: 1
  questions: questions.txt
  agents:
    - { model: "openai:base@http://127.0.0.1:9/v1", weight: 3 }
    - { model: "openai:other@http://127.0.0.1:9/v1", weight: 1, trained: false }
  observer: "openai:judge@http://127.0.0.1:9/v1"
training:
  start: { init: tiny }
evaluation:
  benchmarks: [{ name: truthfulqa }]
serving: ${serving}
`;

async function societies(serving: string) {
  const recipe = parseRecipe({ text: recipeText(serving), file: "r.yaml" });
  const nodes = planNodes({ recipe, recipeDirectory: directory, out: "/x" });
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const configurations = [];
  for (const node of nodes.filter((entry) => entry.kind === "society")) {
    configurations.push(
      await societyConfiguration({ recipe, recipeDirectory: directory, node, nodes: byName, distanceThreshold: 0.4 }),
    );
  }
  return { configurations, byName };
}

describe("societyConfiguration", () => {
  it("gives each generation a disjoint slice of the pool and the same prior and observer", async () => {
    const { configurations } = await societies("{ kind: gguf }");
    const slices = configurations.map((configuration) => configuration.questions);
    expect(slices.map((slice) => slice.length)).toEqual([3, 3, 3]);
    expect(new Set(slices.flat()).size).toBe(9);
    expect(new Set(configurations.map((configuration) => configuration.config.models.observer))).toEqual(
      new Set(["openai:judge@http://127.0.0.1:9/v1"]),
    );
    expect(new Set(configurations.map((configuration) => configuration.config.memory.priorSize)).size).toBe(1);
  });

  it("puts the previous generation's exported model in the trained entries only", async () => {
    const { configurations, byName } = await societies("{ kind: gguf }");
    expect(configurations[0]?.agentModels.map((model) => model.spec)).toEqual([
      "openai:base@http://127.0.0.1:9/v1",
      "openai:other@http://127.0.0.1:9/v1",
    ]);
    expect(configurations[2]?.agentModels).toEqual([
      { spec: `gguf:${byName.get("export-2")?.directory}/model.gguf`, weight: 3 },
      { spec: "openai:other@http://127.0.0.1:9/v1", weight: 1 },
    ]);
  });

  it("serves through a local directory or a server as the recipe says", async () => {
    const local = await societies("{ kind: local }");
    expect(local.configurations[1]?.agentModels[0]?.spec).toBe(
      `local:${local.byName.get("train-1")?.directory}/run/model`,
    );
    const served = await societies('{ kind: server, command: "serve {model}", url: "http://127.0.0.1:8081/v1" }');
    expect(served.configurations[1]?.agentModels[0]?.spec).toBe("openai:trained@http://127.0.0.1:8081/v1");
  });

  it("refuses more generations than the pool has fresh questions for, naming the field", async () => {
    const recipe = parseRecipe({
      text: recipeText("{ kind: gguf }").replace("  rounds: 1", "  rounds: 1\n  questionsPerGeneration: 4"),
      file: "r.yaml",
    });
    const nodes = planNodes({ recipe, recipeDirectory: directory, out: "/x" });
    const node = nodes.find((entry) => entry.name === "society-1");
    await expect(
      societyConfiguration({
        recipe,
        recipeDirectory: directory,
        node: node as (typeof nodes)[number],
        nodes: new Map(nodes.map((entry) => [entry.name, entry])),
        distanceThreshold: 0.4,
      }),
    ).rejects.toThrow(
      /^recipe field "society\.questionsPerGeneration": 3 generations need 12 distinct questions, the pool has 9$/,
    );
  });
});
