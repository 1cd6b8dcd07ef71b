/** Node keys: a changed input changes its node's hash and every hash downstream, and nothing else. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planNodes } from "./experiment-nodes.js";
import { parseRecipe } from "./recipe.js";

const directory = mkdtempSync(join(tmpdir(), "experiment-nodes-"));
writeFileSync(join(directory, "questions.txt"), "One?\nTwo?\nThree?\nFour?\n");

const text = `generations: 2
society:
  size: 2
  rounds: 1
  questions: questions.txt
  agents: [{ model: "openai:m@http://127.0.0.1:9/v1" }]
  observer: "openai:m@http://127.0.0.1:9/v1"
data: { mix: all, seed: 0 }
training:
  start: { init: tiny }
  threads: 1
evaluation:
  benchmarks: [{ name: truthfulqa }]
`;

const hashes = (recipeText: string) =>
  Object.fromEntries(
    planNodes({ recipe: parseRecipe({ text: recipeText, file: "r.yaml" }), recipeDirectory: directory, out: "/x" }).map(
      (node) => [node.name, node.hash],
    ),
  );

/** Names whose hash differs between two plans. */
const changed = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).filter((name) => a[name] !== b[name]);

describe("planNodes", () => {
  it("is stable, and keys each node under <out>/nodes/<name>-<hash>", () => {
    expect(hashes(text)).toEqual(hashes(text));
    const nodes = planNodes({ recipe: parseRecipe({ text, file: "r.yaml" }), recipeDirectory: directory, out: "/x" });
    expect(nodes[0]?.directory).toBe(`/x/nodes/model-init-${nodes[0]?.hash}`);
  });

  it("a data change reruns that generation's data and everything after it, not the first society or the start", () => {
    expect(changed(hashes(text), hashes(text.replace("seed: 0 }", "seed: 1 }")))).toEqual([
      "data-1",
      "train-1",
      "evaluation-1",
      "export-1",
      "society-2",
      "data-2",
      "train-2",
      "evaluation-2",
    ]);
  });

  it("an evaluation change reruns only the evaluations; threads change nothing", () => {
    const limited = text.replace(
      "benchmarks: [{ name: truthfulqa }]",
      "benchmarks: [{ name: truthfulqa }]\n  limit: 5",
    );
    expect(changed(hashes(text), hashes(limited))).toEqual(["evaluation-0", "evaluation-1", "evaluation-2"]);
    expect(changed(hashes(text), hashes(text.replace("threads: 1", "threads: 3")))).toEqual([]);
  });

  it("the content of a question file counts, not only its name", () => {
    const before = hashes(text);
    writeFileSync(join(directory, "questions.txt"), "One?\nTwo?\nThree?\nFive?\n");
    // The tokenizer's default corpus is the question pool, so the start model changes too.
    expect(changed(before, hashes(text))).toEqual(Object.keys(before));
  });
});
