import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TRAINING_TEXT } from "../model/__fixtures__/sample-texts.js";
import {
  clearMarginSuccessor,
  clearMarginWeights,
  testTokenizer,
  tinyConfig,
} from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { ConfigError } from "../spec/errors.js";
import { registerModelCommand } from "./model-command.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "model-command-"));
  process.env.STABLE_ALIGNMENT_CACHE = join(directory, "cache");
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs `stable-alignment <args>` in process with only the model command; returns what it printed. */
async function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command("stable-alignment").option("--config <file>").exitOverride();
  registerModelCommand(program);
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const error = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    out.mockRestore();
    error.mockRestore();
  }
  return { stdout, stderr };
}

describe("model init, info and export", () => {
  it("creates a tiny model with a trained tokenizer, describes it and exports it to GGUF and bf16 safetensors", async () => {
    const text = join(directory, "corpus.txt");
    await writeFile(text, Array.from({ length: 10 }, () => TRAINING_TEXT).join("\n"));
    const model = join(directory, "tiny");
    const init = await run([
      "model",
      "init",
      "--config",
      "tiny",
      "--train-tokenizer",
      text,
      "--vocab",
      "400",
      "--out",
      model,
    ]);
    expect(init.stdout).toMatch(/llama: 2 layers, d 64, 4 heads \(2 key\/value\), ffn 172, vocabulary 400/);
    expect(init.stdout).toContain("tokenizer: trained, 141 merges");
    const config = JSON.parse(await readFile(join(model, "config.json"), "utf8"));
    expect(config).toMatchObject({ architectures: ["LlamaForCausalLM"], vocab_size: 400, tie_word_embeddings: true });
    expect(existsSync(join(model, "tokenizer.json"))).toBe(true);

    const info = await run(["model", "info", model]);
    expect(info.stdout).toContain("parameters: 0.12 M; stored F32 x20 in 1 file(s)");
    expect(info.stdout).toContain("gguf export: ready (architecture llama, pre-tokenizer gpt-2)");
    expect(info.stdout).toContain("chat template yes");

    const gguf = join(directory, "tiny.gguf");
    const exported = await run(["model", "export", model, "--format", "gguf", "--dtype", "f16", "--out", gguf]);
    expect(exported.stdout).toMatch(/exported .* as gguf f16/);
    expect((await readFile(gguf)).subarray(0, 4).toString("latin1")).toBe("GGUF");

    const copy = join(directory, "tiny-bf16");
    await run(["model", "export", model, "--format", "safetensors", "--dtype", "bf16", "--out", copy]);
    const json = JSON.parse((await run(["model", "info", copy, "--json"])).stdout);
    expect(json.dtypes).toEqual({ BF16: 20 });
    expect(json.tokenizer.vocabularySize).toBe(400);
  });

  it("refuses contradictory or unavailable options, naming the flag", async () => {
    const both = run(["model", "init", "--config", "tiny", "--tokenizer", "a", "--train-tokenizer", "b", "--out", "c"]);
    await expect(both).rejects.toBeInstanceOf(ConfigError);
    await expect(both).rejects.toThrow(/exactly one of --tokenizer/);
    await expect(run(["model", "init", "--config", "huge", "--tokenizer", directory, "--out", "x"])).rejects.toThrow();
    await expect(
      run(["model", "export", join(directory, "tiny"), "--format", "gguf", "--dtype", "bf16", "--out", "x.gguf"]),
    ).rejects.toThrow(/--dtype bf16 is not available for gguf/);
  });
});

describe("model generate", () => {
  it("gives the same greedy text on our engine (local:) and on llama.cpp (gguf:) for a clear-margin model", async () => {
    const tokenizer = testTokenizer();
    const config = tinyConfig();
    const model = join(directory, "clear-margin");
    await saveCheckpoint({ directory: model, config, weights: clearMarginWeights({ config }) });
    await saveTokenizer({ directory: model, ...tokenizer });
    const gguf = join(directory, "clear-margin.gguf");
    await run(["model", "export", model, "--format", "gguf", "--out", gguf]);
    const prompt = "The quick brown fox";
    const common = ["--prompt", prompt, "--greedy", "--max-tokens", "12"];
    const ours = await run(["model", "generate", "--model", `local:${model}`, ...common, "--threads", "1"]);
    const theirs = await run(["model", "generate", "--model", `gguf:${gguf}`, ...common]);
    const expected: number[] = [];
    let current = tokenizer.encode(prompt).at(-1) as number;
    for (let index = 0; index < 12; index++) {
      current = clearMarginSuccessor(current, config.vocabularySize);
      expected.push(current);
    }
    expect(ours.stdout).toBe(`${tokenizer.decode(expected)}\n`);
    // The walk ends inside a multi-byte character: we print its bytes as U+FFFD, node-llama-cpp
    // withholds an incomplete trailing character. Everything before it is identical.
    expect(theirs.stdout).toBe(ours.stdout.replace(/\uFFFD\n$/, "\n"));
    expect(ours.stderr).toMatch(/12 completion tokens, .* tokens\/s, finish: length/);
  });
});
