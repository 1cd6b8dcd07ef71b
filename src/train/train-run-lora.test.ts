/**
 * LoRA through trainRun: a frozen Qwen2 base, adapters trained and written in PEFT's layout, the merged
 * model with --merge, adapter-only checkpoints whose optimizer moments cover the adapters, and a resume
 * (dropout masks included) that ends where an uninterrupted run ends.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import type { ModelWeights } from "../model/checkpoint-tensors.js";
import { LORA_TARGETS } from "../model/llama/index.js";
import { mergeLoraWeights, readLoraAdapter } from "../model/lora-adapter.js";
import { openSafetensorsCheckpoint } from "../model/safetensors/safetensors-reader.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { type TrainRunOptions, trainRun } from "./train-run.js";
import { completeCheckpoints } from "./training-run-files.js";
import { defaultTrainingSettings, type TrainingSettings } from "./training-settings.js";

let directory: string;
let start: ModelWeights;
const settings: TrainingSettings = {
  ...defaultTrainingSettings({ start: "init" }),
  epochs: 1,
  gradientAccumulation: 2,
  maxLength: 48,
  evalSplit: 0,
  saveEvery: 2,
  weightDecay: 0.01,
  lora: { rank: 4, alpha: 8, dropout: 0.1, targets: [...LORA_TARGETS] },
};

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-lora-"));
  const tokenizer = testTokenizer();
  const config = tinyConfig({
    family: "qwen2",
    queryKeyValueBias: true,
    tieWordEmbeddings: true,
    vocabularySize: tokenizer.vocabularySize,
    maxPositions: 64,
  });
  start = randomWeights({ config, seed: 4 });
  await saveCheckpoint({ directory: join(directory, "base"), config, weights: start });
  await saveTokenizer({
    directory: join(directory, "base"),
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  const rows = Array.from({ length: 8 }, (_, index) => ({
    query: `Question ${index}: should I be kind?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad.", "I cannot help with that."],
    scores: [7, 1 + (index % 3), 4],
    models: ["a", "a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const run = (out: string, extra: Partial<TrainRunOptions> = {}) =>
  trainRun({
    model: join(directory, "base"),
    data: join(directory, "sa.json"),
    out: join(directory, out),
    blas: createBlas({ backend: "typescript" }),
    settings,
    ...extra,
  });

describe("trainRun with LoRA", () => {
  it("writes a PEFT adapter, adapter-only checkpoints, and with merge the merged model", async () => {
    const result = await run("merged", { merge: true });
    expect(result.finished).toBe(true);
    const adapterDirectory = result.adapterDirectory as string;
    expect(adapterDirectory).toBe(join(directory, "merged", "adapter"));
    const config = JSON.parse(readFileSync(join(adapterDirectory, "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({
      peft_type: "LORA",
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.1,
      target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
      base_model_name_or_path: join(directory, "base"),
      bias: "none",
      task_type: "CAUSAL_LM",
      fan_in_fan_out: false,
    });
    const adapter = await readLoraAdapter({ directory: adapterDirectory });
    expect(adapter.tensors.size).toBe(2 * 7 * 2);
    const b = adapter.tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight") as Float32Array;
    expect(Math.max(...Array.from(b, Math.abs)), "lora_B moved from its zero start").toBeGreaterThan(1e-5);

    // The merged model is the base plus (alpha / r) B A on every target, nothing else changed.
    const merged = await loadCheckpoint({ directory: result.modelDirectory as string });
    const expected = mergeLoraWeights({ weights: start, adapter });
    for (const [name, values] of expected) {
      expect(merged.weights.get(name), name).toEqual(values);
    }
    expect(merged.weights.get("model.layers.0.self_attn.q_proj.bias")).toEqual(
      start.get("model.layers.0.self_attn.q_proj.bias"),
    );
    expect(merged.weights.get("model.layers.0.self_attn.q_proj.weight")).not.toEqual(
      start.get("model.layers.0.self_attn.q_proj.weight"),
    );

    const checkpoint = join(
      directory,
      "merged",
      "checkpoints",
      (completeCheckpoints(join(directory, "merged")).at(-1) as { name: string }).name,
    );
    expect(existsSync(join(checkpoint, "model.safetensors")), "checkpoints hold the adapter only").toBe(false);
    const moments = await openSafetensorsCheckpoint({ path: join(checkpoint, "optimizer.safetensors") });
    const adapterSize = [...adapter.tensors.values()].reduce((sum, values) => sum + values.length, 0);
    expect(moments.tensors.get("first_moment")?.shape).toEqual([adapterSize]);
  });

  it("scripts/peft-check.py checks the adapter with PEFT where installed, else says so in one line and exits 2", async () => {
    const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const script = join(import.meta.dirname, "..", "..", "scripts", "peft-check.py");
    const args = [
      script,
      "--adapter",
      join(directory, "merged", "adapter"),
      "--merged",
      join(directory, "merged", "model"),
    ];
    const outcome = await promisify(execFile)(python, args).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    if (outcome.code === 2) {
      expect(outcome.stdout).toMatch(/^peft-check: not run: .*not installed[^\n]*\n$/);
    } else {
      // PEFT is installed: every check must pass (three "ok" lines).
      expect(
        outcome.stdout
          .trim()
          .split("\n")
          .map((line) => line.slice(0, 4)),
      ).toEqual(["ok  ", "ok  ", "ok  "]);
      expect(outcome.code).toBe(0);
    }
  });

  it("resumes from an adapter checkpoint to the same adapter as an uninterrupted run", async () => {
    const whole = await run("whole");
    expect(whole.modelDirectory).toBeUndefined();
    const controller = new AbortController();
    const first = await run("resumed", {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "checkpoint") controller.abort();
      },
    });
    expect(first.finished).toBe(false);
    expect(first.cursor.step).toBe(2);
    const second = await run("resumed", { resume: true });
    expect(second.finished).toBe(true);
    const expected = await readLoraAdapter({ directory: whole.adapterDirectory as string });
    const actual = await readLoraAdapter({ directory: second.adapterDirectory as string });
    for (const [name, values] of expected.tensors) expect(actual.tensors.get(name), name).toEqual(values);
  });

  it("refuses --merge without LoRA and an impossible LoRA setting, naming the flag", async () => {
    await expect(run("refused", { merge: true, settings: { ...settings, lora: undefined } })).rejects.toThrow(
      /--merge needs LoRA/,
    );
    await expect(
      run("refused", { settings: { ...settings, lora: { rank: 0, alpha: 8, dropout: 0, targets: ["q"] } } }),
    ).rejects.toThrow(/--lora-rank must be a positive integer/);
    expect(existsSync(join(directory, "refused", "training.json"))).toBe(false);
  });
});
