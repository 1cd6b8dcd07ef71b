import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { checkRecipeEndpoints, endpointsOfPendingNodes } from "./endpoint-preflight.js";
import { planNodes } from "./experiment-nodes.js";
import { loadRecipe } from "./recipe.js";

const directory = mkdtempSync(join(tmpdir(), "endpoint-preflight-"));
writeFileSync(join(directory, "questions.txt"), "One?\nTwo?\nThree?\nFour?\n");

function recipeWith({ trained, kept, observer, judge }: Record<"trained" | "kept" | "observer" | "judge", string>) {
  const file = join(directory, `recipe-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `generations: 2
society:
  size: 2
  rounds: 1
  questions: questions.txt
  agents:
    - model: "openai:a@${trained}"
    - model: "openai:b@${kept}"
      trained: false
  observer: "openai:o@${observer}"
data: { mix: all, seed: 0 }
training:
  start: { init: tiny }
evaluation:
  judge:
    model: "openai:j@${judge}"
    benchmarks: [{ name: sandbox }]
`,
  );
  const recipe = loadRecipe({ file });
  return {
    recipe,
    nodes: planNodes({ recipe: recipe.recipe, recipeDirectory: directory, out: join(directory, "out") }),
  };
}

describe("endpointsOfPendingNodes", () => {
  const urls = {
    trained: "http://127.0.0.1:9001/v1",
    kept: "http://127.0.0.1:9002/v1",
    observer: "http://127.0.0.1:9003/v1",
    judge: "http://127.0.0.1:9004/v1",
  };
  const { recipe, nodes } = recipeWith(urls);
  const pendingFrom = (...names: string[]) => nodes.filter((node) => names.includes(node.name));

  it("lists each endpoint once with the recipe field that names it and the first step that calls it", () => {
    expect(endpointsOfPendingNodes({ recipe: recipe.recipe, pending: nodes })).toEqual([
      { field: ["evaluation", "judge", "model"], baseURL: urls.judge, step: "evaluation-0" },
      { field: ["society", "agents", 0, "model"], baseURL: urls.trained, step: "society-1" },
      { field: ["society", "agents", 1, "model"], baseURL: urls.kept, step: "society-1" },
      { field: ["society", "observer"], baseURL: urls.observer, step: "society-1" },
    ]);
  });

  it("leaves out what finished steps called and what trained agents no longer call", () => {
    const later = endpointsOfPendingNodes({ recipe: recipe.recipe, pending: pendingFrom("society-2", "train-2") });
    expect(later.map((endpoint) => endpoint.baseURL)).toEqual([urls.kept, urls.observer]);
    expect(endpointsOfPendingNodes({ recipe: recipe.recipe, pending: pendingFrom("data-1", "train-1") })).toEqual([]);
  });
});

describe("checkRecipeEndpoints", () => {
  it("passes answering endpoints, and names the recipe line of one that refuses the key or does not answer", async () => {
    const fake = await startFakeLlmServer();
    const refusing = createServer((_request, response) => {
      response.writeHead(401).end('{"error":"bad key"}');
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1`;
    try {
      const live = `${fake.url}/v1`;
      const all = recipeWith({ trained: live, kept: live, observer: live, judge: live });
      await expect(checkRecipeEndpoints({ recipe: all.recipe, pending: all.nodes })).resolves.toBeUndefined();

      const keyRefused = recipeWith({ trained: live, kept: live, observer: refusingUrl, judge: live });
      await expect(checkRecipeEndpoints({ recipe: keyRefused.recipe, pending: keyRefused.nodes })).rejects.toThrow(
        /recipe-\w+\.yaml:10: field "society\.observer": endpoint .* refuses the API key \(HTTP 401 to GET \/models\); society-1 needs it: check the key, then rerun$/,
      );

      // Port 1 has no listener here; the probe goes over node:http, so any port a server may use is asked.
      const down = recipeWith({ trained: live, kept: "http://127.0.0.1:1/v1", observer: live, judge: live });
      await expect(checkRecipeEndpoints({ recipe: down.recipe, pending: down.nodes, waitMs: 300 })).rejects.toThrow(
        /:8: field "society\.agents\.1\.model": endpoint http:\/\/127\.0\.0\.1:1\/v1 does not answer \(.*ECONNREFUSED.*\)/,
      );
    } finally {
      await fake.close();
      await new Promise((resolve) => refusing.close(resolve));
    }
  });

  it("waits for a server that starts within waitMs", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    await new Promise((resolve) => holder.close(resolve));
    const url = `http://127.0.0.1:${port}/v1`;
    const late = recipeWith({ trained: url, kept: url, observer: url, judge: url });
    const checked = checkRecipeEndpoints({ recipe: late.recipe, pending: late.nodes, waitMs: 5000 });
    let settled = false;
    checked.then(
      () => (settled = true),
      () => (settled = true),
    );
    // The first probes are refused; the server starts listening 600 ms in.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(settled).toBe(false);
    const server = await startFakeLlmServer({ port });
    try {
      await expect(checked).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
