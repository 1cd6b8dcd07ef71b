/** Recipe validation: defaults filled in, and every problem one line naming the file, line and field. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { loadRecipe, parseRecipe } from "./recipe.js";

const minimal = `society:
  size: 3
  rounds: 2
  agents:
    - model: openai:gpt-4o-mini
  observer: openai:gpt-4o-mini
training:
  start: { init: tiny }
evaluation:
  benchmarks:
    - name: truthfulqa
`;

const errorOf = (text: string): ConfigError => {
  try {
    parseRecipe({ text, file: "recipe.yaml" });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("the recipe was accepted");
};

describe("parseRecipe", () => {
  it("fills the defaults: one generation, the starter set, lexical memory, the 5:1:1 mix, GGUF serving on 1 thread", () => {
    const recipe = parseRecipe({ text: minimal, file: "recipe.yaml" });
    expect(recipe.generations).toBe(1);
    expect(recipe.society).toMatchObject({ questions: "starter", prior: "starter", embedder: "lexical" });
    expect(recipe.society.agents).toEqual([{ model: "openai:gpt-4o-mini", weight: 1, trained: true }]);
    expect(recipe.data).toEqual({ mix: "5:1:1", seed: 0 });
    expect(recipe.training.objective).toBe("stable-alignment");
    expect(recipe.serving).toEqual({ kind: "gguf", threads: 1, dtype: "f32" });
  });

  it("refuses a file the recipe names but that does not exist, with its line and field, before anything runs", () => {
    const directory = mkdtempSync(join(tmpdir(), "recipe-files-"));
    writeFileSync(join(directory, "questions.json"), "[]");
    const text = minimal
      .replace("  size: 3\n", "  size: 3\n  questions: questions.json\n")
      .replace("    - name: truthfulqa\n", "    - name: truthfulqa\n      data: missing/truthfulqa.csv\n");
    const file = join(directory, "recipe.yaml");
    writeFileSync(file, text);
    const error = (() => {
      try {
        loadRecipe({ file });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error("the recipe was accepted");
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `${file}:13: field "evaluation.benchmarks.0.data": no such file or folder: ${join(directory, "missing/truthfulqa.csv")}`,
    );
    // The same text without the missing file loads (the questions file exists).
    writeFileSync(file, text.replace("      data: missing/truthfulqa.csv\n", ""));
    expect(loadRecipe({ file }).recipe.society.questions).toBe("questions.json");
  });

  it("names the file, the line and the field path of a bad value", () => {
    const error = errorOf(minimal.replace("size: 3", "size: 1"));
    expect(error.message).toMatch(/^recipe\.yaml:2: field "society\.size": /);
    expect(error.field).toBe("society.size");
    expect(error.message.split("\n")).toHaveLength(1);
  });

  it("names a nested field inside a list and an unknown field", () => {
    expect(errorOf(minimal.replace("name: truthfulqa", "name: nonsense")).message).toMatch(
      /^recipe\.yaml:11: field "evaluation\.benchmarks\.0\.name": /,
    );
    expect(errorOf(minimal.replace("  rounds: 2", "  rounds: 2\n  colour: blue")).message).toMatch(
      /^recipe\.yaml:\d+: field "society": .*colour/,
    );
  });

  it("asks for rounds or a plateau, and points a missing section at the recipe", () => {
    expect(errorOf(minimal.replace("  rounds: 2\n", "")).field).toBe("society.rounds");
    expect(errorOf(minimal.replace(/training:\n {2}start: \{ init: tiny \}\n/, "")).message).toMatch(
      /^recipe\.yaml:1: field "training": /,
    );
  });

  it("reports YAML syntax errors with their line", () => {
    expect(errorOf(`${minimal}  bad: [unclosed\n`).message).toMatch(/^recipe\.yaml:\d+: not valid YAML: /);
  });

  it("refuses an unreadable model spec, embedder or data mix when read, naming its line and field", () => {
    const observer = errorOf(minimal.replace("observer: openai:gpt-4o-mini", "observer: nomodel:x"));
    expect(observer.message).toMatch(/^recipe\.yaml:6: field "society\.observer": unknown model provider "nomodel"/);
    expect(observer.message.split("\n")).toHaveLength(1);
    expect(errorOf(minimal.replace("- model: openai:gpt-4o-mini", "- model: gpt-4o-mini")).message).toMatch(
      /^recipe\.yaml:5: field "society\.agents\.0\.model": model spec "gpt-4o-mini" has no provider prefix/,
    );
    expect(errorOf(minimal.replace("  observer:", "  embedder: hf:owner/repo\n  observer:")).field).toBe(
      "society.embedder",
    );
    const mix = errorOf(`${minimal}data:\n  mix: "5:x:1"\n`);
    expect(mix.message).toMatch(
      /^recipe\.yaml:13: field "data\.mix": must be "all" or imitation:self-critic:realignment/,
    );
    expect(errorOf(`${minimal}data:\n  mix: "0:1:1"\n`).field).toBe("data.mix");
    const judge = `${minimal}  judge:\n    model: judge\n    benchmarks:\n      - name: sandbox\n`;
    expect(errorOf(judge).field).toBe("evaluation.judge.model");
    expect(parseRecipe({ text: `${minimal}data:\n  mix: all\n`, file: "recipe.yaml" }).data.mix).toBe("all");
  });

  it("names the serving kind and the unknown field of a serving section", () => {
    expect(errorOf(`${minimal}serving: { kind: ollama }\n`).message).toMatch(
      /^recipe\.yaml:12: field "serving\.kind": .*'gguf' \| 'local' \| 'server'/,
    );
    expect(errorOf(`${minimal}serving: { kind: gguf, thread: 2 }\n`).message).toMatch(
      /^recipe\.yaml:12: field "serving": Unrecognized key: "thread"/,
    );
  });
});
