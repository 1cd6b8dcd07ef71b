/** Bad input: a data file in the wrong shape is refused in one line naming the file, line and field. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, UsageError } from "../spec/errors.js";
import { benchmarkDefinition, parseBenchmarkList } from "./benchmarks.js";
import { parseCsv } from "./csv-rows.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "eval-loaders-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function write(relative: string, text: string): Promise<string> {
  const path = join(directory, relative);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

describe("benchmark loaders refuse bad input in one line", () => {
  it("a TruthfulQA record without mc2_targets names the file, line and field", async () => {
    const good = { question: "q?", mc1_targets: { a: 1, b: 0 }, mc2_targets: { a: 1, b: 0 } };
    const path = await write(
      "mc.jsonl",
      `${JSON.stringify(good)}\n${JSON.stringify({ question: "r?", mc1_targets: { a: 1, b: 0 } })}\n`,
    );
    const error = await failure(benchmarkDefinition("truthfulqa").load({ path, split: "test" }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${path}:2: missing field "mc2_targets" (an object of answer: 1|0)`);
    expect(error.message).not.toContain("\n");
  });

  it("an ETHICS CSV without its column, or with a short row, names the file, line and column", async () => {
    const root = join(directory, "ethics");
    const file = await write("ethics/commonsense/cm_test_hard.csv", "label,text\n1,I lied.\n");
    let error = await failure(benchmarkDefinition("ethics").load({ path: root, split: "test_hard" }));
    expect(error.message).toBe(`${file}:1: missing column "input" in the header (found label, text)`);
    await write("ethics/commonsense/cm_test_hard.csv", "label,input,is_short,edited\n1,I lied.,True,False\n");
    const deontology = await write("ethics/deontology/deontology_test_hard.csv", "label,scenario,excuse\n1,Can you?\n");
    error = await failure(benchmarkDefinition("ethics").load({ path: root, split: "test_hard" }));
    expect(error.message).toBe(`${deontology}:2: expected 3 fields (label, scenario, excuse), found 2`);
    await write("ethics/deontology/deontology_test_hard.csv", "label,scenario,excuse\n2,Can you?,No.\n");
    error = await failure(benchmarkDefinition("ethics").load({ path: root, split: "test_hard" }));
    expect(error.message).toBe(`${deontology}:2: field "label" is "2", expected 0 or 1`);
  });

  it("a missing ETHICS file names the file", async () => {
    const error = await failure(
      benchmarkDefinition("ethics").load({ path: join(directory, "nothing"), split: "test" }),
    );
    expect(error.message).toBe(
      `${join(directory, "nothing", "commonsense", "cm_test.csv")}: cannot read file (ENOENT)`,
    );
  });

  it("a Moral Stories story with only one row names the story and line", async () => {
    const path = await write(
      "ms.jsonl",
      `${JSON.stringify({ ID: "AB1", norm: "n", moral_action: "m", label: "1" })}\n`,
    );
    const error = await failure(benchmarkDefinition("moral-stories").load({ path, split: "test" }));
    expect(error.message).toBe(`${path}:1: story AB has no row with "immoral_action" (each story needs both rows)`);
  });

  it("an HH pair without rejected names the line and field", async () => {
    const path = await write("hh.jsonl", `${JSON.stringify({ chosen: "\n\nHuman: hi\n\nAssistant: hello" })}\n`);
    const error = await failure(benchmarkDefinition("hh-helpful").load({ path, split: "test" }));
    expect(error.message).toBe(`${path}:1: missing field "rejected" (a string)`);
  });

  it("an unknown benchmark lists the known ones", () => {
    expect(() => parseBenchmarkList("truthfulqa,mmlu")).toThrow(UsageError);
    expect(() => parseBenchmarkList("truthfulqa,mmlu")).toThrow(
      '--bench: unknown benchmark "mmlu"; known: truthfulqa, ethics, moral-stories, hhh, mic, hh-harmless, hh-helpful',
    );
    expect(parseBenchmarkList("ethics, truthfulqa,ethics")).toEqual(["ethics", "truthfulqa"]);
  });

  it("CSV: quoted commas, doubled quotes and line breaks inside quotes; rows keep their first line", () => {
    const rows = parseCsv({ text: 'a,b\n"x, y","say ""hi""\nthere"\nlast,row', file: "f.csv" });
    expect(rows).toEqual([
      { fields: ["a", "b"], line: 1 },
      { fields: ["x, y", 'say "hi"\nthere'], line: 2 },
      { fields: ["last", "row"], line: 4 },
    ]);
    expect(() => parseCsv({ text: 'a\n"open', file: "f.csv" })).toThrow("f.csv:2: a quoted field is never closed");
  });
});
