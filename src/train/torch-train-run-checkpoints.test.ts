/**
 * The torch backend's checkpoints and processes (needs PyTorch; CI installs python3-torch): its
 * safetensors hold the tensors the TypeScript engine writes and load in `local:`; two gloo processes
 * give the losses of one; a SIGKILL of the torchrun job, then --resume, replays the trajectory exactly.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { createLocalModel } from "../llm/local-model.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import { openSafetensorsCheckpoint } from "../model/safetensors/safetensors-reader.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { findTorchPython, torchTrainerDirectory } from "./torch-python.js";
import { torchTrainRun } from "./torch-train-run.js";
import { defaultTrainingSettings, type TrainingSettings } from "./training-settings.js";

const torch = findTorchPython();
const missing = "missing" in torch;
if (missing) console.warn("python3-torch not installed: torch backend checkpoint tests skipped");

let directory: string;
const config = tinyConfig({ vocabularySize: testTokenizer().vocabularySize, maxPositions: 64 });

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-torch-checkpoints-"));
  const tokenizer = testTokenizer();
  await saveCheckpoint({ directory: join(directory, "start"), config, weights: randomWeights({ config, seed: 9 }) });
  await saveTokenizer({
    directory: join(directory, "start"),
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  const rows = Array.from({ length: 10 }, (_, index) => ({
    query: `Question ${index}: what should I say to ${"a friend ".repeat(1 + (index % 3))}?`,
    responses: ["Tell the truth kindly.", "Lie to them.", "Say nothing at all."],
    scores: [7, 1 + (index % 4), 4],
    models: ["a", "a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const settings: TrainingSettings = {
  ...defaultTrainingSettings({ start: "init" }),
  epochs: 2,
  // 20 micro-batches, 3 a step (the last step 2): two processes split each step 2 + 1, so one rank
  // runs an idle pass while the other accumulates under DDP's no_sync.
  gradientAccumulation: 3,
  maxLength: 48,
  evalSplit: 0,
  saveEvery: 5,
  learningRate: 3e-3,
  // Decay on the matrices only: DDP's parameter names must map back to the model's for the split.
  weightDecay: 0.1,
};

async function metricsLosses(out: string): Promise<number[]> {
  const text = await readFile(join(out, "metrics.jsonl"), "utf8");
  return text
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { loss: number }).loss);
}

async function train(out: string, extra: Partial<Parameters<typeof torchTrainRun>[0]> = {}) {
  return torchTrainRun({ model: join(directory, "start"), data: join(directory, "sa.json"), out, settings, ...extra });
}

/** Trains into `out` and SIGKILLs the torchrun job once the checkpoint of `step` is written; says whether it was. */
async function killAfterCheckpoint(
  out: string,
  step: number,
  extra: Partial<Parameters<typeof torchTrainRun>[0]> = {},
): Promise<boolean> {
  let pid = 0;
  let sawCheckpoint = false;
  await train(out, {
    ...extra,
    onLaunch: (processId) => {
      pid = processId;
    },
    onEvent: (event) => {
      if (event.type === "checkpoint" && event.step === step && !sawCheckpoint) {
        sawCheckpoint = true;
        process.kill(-pid, "SIGKILL");
      }
    },
  }).catch(() => undefined);
  return sawCheckpoint;
}

/** One uninterrupted single-process fp32 run, shared by the tests that compare against it. */
let reference: ReturnType<typeof torchTrainRun> | undefined;
function referenceRun(): ReturnType<typeof torchTrainRun> {
  reference ??= train(join(directory, "reference"));
  return reference;
}

describe.skipIf(missing)("torch backend checkpoints and processes", () => {
  it("writes the tensors the TypeScript engine writes for the same weights (names, shapes, dtypes, values)", async () => {
    const written = join(directory, "python-written");
    mkdirSync(written);
    copyFileSync(join(directory, "start", "config.json"), join(written, "config.json"));
    const script = [
      "import json, sys",
      "from stable_alignment_torch.model import LlamaForCausalLm",
      "from stable_alignment_torch.safetensors_io import read_checkpoint, write_safetensors",
      "model = LlamaForCausalLm(json.loads(sys.argv[1]))",
      "model.load_weights(read_checkpoint(sys.argv[2]), sys.argv[2])",
      "write_safetensors(sys.argv[3] + '/model.safetensors', model.checkpoint_tensors())",
    ].join("\n");
    const result = spawnSync(
      (torch as { python: string }).python,
      ["-c", script, JSON.stringify(config), join(directory, "start"), written],
      { encoding: "utf8", env: { ...process.env, PYTHONPATH: join(torchTrainerDirectory(), "..") } },
    );
    expect(result.stderr).toBe("");
    const ours = await openSafetensorsCheckpoint({ path: join(directory, "start") });
    const theirs = await openSafetensorsCheckpoint({ path: written });
    expect([...theirs.tensors.keys()].sort()).toEqual([...ours.tensors.keys()].sort());
    for (const [name, info] of ours.tensors) {
      const other = theirs.tensors.get(name);
      expect(other?.dtype, name).toBe(info.dtype);
      expect(other?.shape, name).toEqual(info.shape);
      const a = await ours.readFloat32(name);
      const b = await theirs.readFloat32(name);
      let largest = 0;
      for (const [index, value] of a.entries()) largest = Math.max(largest, Math.abs(value - (b[index] as number)));
      expect(largest, name).toBeLessThanOrEqual(1e-6);
    }
  });

  it("saves a final model that loads in local: and generates", async () => {
    const result = await referenceRun();
    expect(result.finished).toBe(true);
    const checkpoint = await loadCheckpoint({ directory: result.modelDirectory as string });
    expect(checkpoint.config).toMatchObject({ hiddenSize: config.hiddenSize, layers: config.layers });
    const local = await createLocalModel({
      directory: result.modelDirectory as string,
      blas: createBlas({ backend: "typescript" }),
      threads: 1,
    });
    const reply = await local.generate({ messages: [{ role: "user", content: "Hello" }], sampling: { maxTokens: 4 } });
    await local.close?.();
    expect(typeof reply.text).toBe("string");
  }, 120_000);

  it("two gloo processes (DDP, uneven micro-batches per rank) give the per-step losses of one process (1e-5)", async () => {
    await referenceRun();
    const one = await metricsLosses(join(directory, "reference"));
    expect(one).toHaveLength(7);
    await train(join(directory, "two"), { launch: { processesPerNode: 2 } });
    const two = await metricsLosses(join(directory, "two"));
    expect(two).toHaveLength(7);
    for (const [index, value] of one.entries()) {
      expect(Math.abs((two[index] as number) - value) / Math.abs(value), `step ${index + 1}`).toBeLessThanOrEqual(1e-5);
    }
  }, 120_000);

  it("--precision bf16 (autocast) follows the fp32 trajectory within bf16 tolerance, and differs from it", async () => {
    await referenceRun();
    await train(join(directory, "bf16"), { launch: { precision: "bf16" } });
    const fp32 = await metricsLosses(join(directory, "reference"));
    const bf16 = await metricsLosses(join(directory, "bf16"));
    expect(bf16).toHaveLength(7);
    expect(bf16).not.toEqual(fp32);
    for (const [index, value] of fp32.entries()) {
      expect(Math.abs((bf16[index] as number) - value) / Math.abs(value), `step ${index + 1}`).toBeLessThanOrEqual(
        5e-2,
      );
    }
  }, 120_000);

  it("SIGKILL of the torchrun job, then --resume, gives bit-identical per-step losses", async () => {
    await referenceRun();
    const expected = await metricsLosses(join(directory, "reference"));
    const killed = join(directory, "killed");
    const sawCheckpoint = await killAfterCheckpoint(killed, 5);
    expect(sawCheckpoint).toBe(true);
    expect((await metricsLosses(killed)).length).toBeLessThan(7);
    const resumed = await train(killed, { resume: true });
    expect(resumed.finished).toBe(true);
    expect(await metricsLosses(killed)).toEqual(expected);
  }, 180_000);

  it("LoRA with dropout: a SIGKILL then --resume continues from the checkpoint (step, adapters, optimizer) with bit-identical losses", async () => {
    const lora: TrainingSettings = {
      ...settings,
      lora: { rank: 4, alpha: 8, dropout: 0.25, targets: ["q", "v", "up"] },
    };
    const whole = join(directory, "lora-whole");
    await train(whole, { settings: lora });
    const expected = await metricsLosses(whole);
    expect(expected).toHaveLength(7);
    const killed = join(directory, "lora-killed");
    const sawCheckpoint = await killAfterCheckpoint(killed, 5, { settings: lora });
    expect(sawCheckpoint).toBe(true);
    const resumedEvents: number[] = [];
    const resumed = await train(killed, {
      settings: lora,
      resume: true,
      onEvent: (event) => {
        if (event.type === "step") resumedEvents.push(event.step);
      },
    });
    expect(resumed.finished).toBe(true);
    expect(resumedEvents).toEqual([6, 7]);
    expect(await metricsLosses(killed)).toEqual(expected);
  }, 180_000);

  it("LoRA dropout masks come from the pass's seed: the same seed repeats them, another seed or none changes the output", () => {
    const script = [
      "import torch",
      "from stable_alignment_torch.model import LoraLinear, set_dropout_seed",
      "torch.manual_seed(0)",
      "layer = LoraLinear(torch.nn.Linear(8, 8), 2, 4, 0.5)",
      "torch.nn.init.normal_(layer.lora_A); torch.nn.init.normal_(layer.lora_B)",
      "x = torch.randn(3, 8)",
      "def run(seed):",
      "    set_dropout_seed(layer, seed, torch.device('cpu'))",
      "    return layer(x)",
      "a, b, c, plain = run(11), run(11), run(12), run(None)",
      "expected = layer.base(x) + (x @ layer.lora_A.T) @ layer.lora_B.T * 2",
      "print(torch.equal(a, b), torch.equal(a, c), torch.equal(a, plain), torch.allclose(plain, expected))",
    ].join("\n");
    const result = spawnSync((torch as { python: string }).python, ["-c", script], {
      encoding: "utf8",
      env: { ...process.env, PYTHONPATH: join(torchTrainerDirectory(), "..") },
    });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("True False False True");
  });
});
