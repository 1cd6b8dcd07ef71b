/**
 * Output paths through real CLI processes: unusable ones end in one line naming the flag and the
 * path, an existing model is not overwritten without --force, and leftovers of killed commands
 * (spill folders, `.partial` files, temporary model directories) are removed by the next run.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeRecord, toJsonLines } from "../data/__fixtures__/interaction-record-fixture.js";
import { TRAINING_TEXT } from "../model/__fixtures__/sample-texts.js";
import { ConfigError } from "../spec/errors.js";
import { runCliProcess } from "./cli-process.js";
import { checkOutputPath } from "./output-path.js";

let root: string;
let corpus: string;
let environment: Record<string, string>;
let dead: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "output-path-"));
  corpus = join(root, "corpus.txt");
  writeFileSync(corpus, Array.from({ length: 10 }, () => TRAINING_TEXT).join("\n"));
  environment = { STABLE_ALIGNMENT_CACHE: join(root, "cache") };
  const child = spawn(process.execPath, ["--eval", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  dead = child.pid as number;
});

const cli = (args: string[]) => runCliProcess({ args, environment, timeoutMs: 120_000 });
const initArgs = (out: string) => [
  "model",
  "init",
  "--config",
  "tiny",
  "--train-tokenizer",
  corpus,
  "--vocab",
  "300",
  "--out",
  out,
];

async function expectOneLine(args: string[], pattern: RegExp): Promise<void> {
  const result = await cli(args);
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).not.toContain("unexpected failure");
  expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
}

describe("checkOutputPath", () => {
  it("accepts new and existing paths of the right kind and refuses the others, naming the flag", () => {
    const folder = join(root, "check");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "data.json"), "[]");
    expect(checkOutputPath({ path: join(folder, "new", "deeper"), flag: "--out", kind: "directory" })).toBe(
      join(folder, "new", "deeper"),
    );
    expect(checkOutputPath({ path: join(folder, "data.json"), flag: "--out", kind: "file" })).toBe(
      join(folder, "data.json"),
    );
    const refusals: [string, "directory" | "file", RegExp][] = [
      [folder, "file", /is a directory; give a file name/],
      ["/sys/kernel/run", "directory", /lies under \/sys, a kernel folder/],
      ["/dev/shm/run", "directory", /lies under \/dev, a kernel folder/],
      ["/proc", "directory", /lies under \/proc/],
    ];
    for (const [path, kind, pattern] of refusals) {
      expect(() => checkOutputPath({ path, flag: "--out", kind }), path).toThrow(ConfigError);
      expect(() => checkOutputPath({ path, flag: "--out", kind }), path).toThrow(pattern);
    }
  });
});

describe("unusable --out paths end in one line", () => {
  it("model init --out naming a file or lying under one; data build --out under a file", {
    timeout: 120_000,
  }, async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "x");
    await expectOneLine(initArgs(file), /^error: --out .*a-file: is a file, not a directory/);
    await expectOneLine(
      initArgs(join(file, "model")),
      /^error: --out .*a-file\/model: lies under .*a-file, which is a file/,
    );
    const run = join(root, "run");
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, "records.jsonl"), toJsonLines([makeRecord()]));
    await expectOneLine(
      ["data", "build", "--run", run, "--out", join(file, "data.json")],
      /^error: --out .*a-file\/data\.json: lies under .*a-file, which is a file/,
    );
    expect(readFileSync(file, "utf8")).toBe("x");
  });
});

describe("model init writes whole directories", () => {
  it("refuses an existing model without --force, replaces it with --force, and clears a killed init's leftovers", {
    timeout: 180_000,
  }, async () => {
    const parent = join(root, "models");
    const out = join(parent, "tiny");
    mkdirSync(parent, { recursive: true });
    const leftover = join(parent, `.tiny.${dead}.0123abcd.tmp`);
    mkdirSync(leftover);
    writeFileSync(join(leftover, "config.json"), "{}");
    const first = await cli(initArgs(out));
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(leftover)).toBe(false);
    const weights = readFileSync(join(out, "model.safetensors"));

    await expectOneLine(
      [...initArgs(out), "--seed", "1"],
      /^error: --out .*tiny already exists; add --force to replace it/,
    );
    expect(readFileSync(join(out, "model.safetensors")).equals(weights)).toBe(true);

    const forced = await cli([...initArgs(out), "--seed", "1", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(out, "model.safetensors")).equals(weights)).toBe(false);
    expect(readdirSync(parent)).toEqual(["tiny"]);
  });
});

describe("leftovers of killed commands are removed by the next run", () => {
  it("model export removes a dead export's .partial file and keeps a live one's", { timeout: 180_000 }, async () => {
    const parent = join(root, "export");
    const model = join(parent, "model");
    mkdirSync(parent, { recursive: true });
    expect((await cli(initArgs(model))).code).toBe(0);
    const out = join(parent, "model.gguf");
    const deadPartial = join(parent, `.model.gguf.${dead}.0123abcd.partial`);
    const livePartial = join(parent, `.model.gguf.${process.pid}.89abcdef.partial`);
    writeFileSync(deadPartial, Buffer.alloc(1 << 20));
    writeFileSync(livePartial, "in progress");
    const result = await cli(["model", "export", model, "--format", "gguf", "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(parent).sort()).toEqual([livePartial.split("/").at(-1), "model", "model.gguf"].sort());
  });

  it("data build removes a dead build's spill folder and keeps a live one's", { timeout: 120_000 }, async () => {
    const parent = join(root, "data");
    const run = join(parent, "run");
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, "records.jsonl"), toJsonLines([makeRecord()]));
    const deadSpill = join(parent, `.stable-alignment-group.${dead}.0123abcd.spill`);
    const liveSpill = join(parent, `.stable-alignment-group.${process.pid}.89abcdef.spill`);
    const deadTemporary = join(parent, `.data.json.${dead}.00ff00ff.tmp`);
    for (const folder of [deadSpill, liveSpill]) {
      mkdirSync(folder);
      writeFileSync(join(folder, "bucket-0.jsonl"), "spilled\n");
    }
    writeFileSync(deadTemporary, "[");
    const result = await cli(["data", "build", "--run", run, "--out", join(parent, "data.json")]);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(parent).sort()).toEqual([liveSpill.split("/").at(-1), "data.json", "run"].sort());
  });
});
