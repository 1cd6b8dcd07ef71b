/**
 * The PyTorch side of the training benches (scripts/torch-train-throughput.py): probing for PyTorch,
 * handing it our initial weights and batches through files, running it at given thread counts, and
 * checking that both sides computed the same step 0 before any timing is believed.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LlamaConfig, LlamaModel } from "../../src/model/llama/index.js";
import { writeSafetensorsFile } from "../../src/model/safetensors/safetensors-writer.js";

/** Largest |our step-0 loss - PyTorch's| (nats) the benches accept before timing. */
export const STEP_ZERO_TOLERANCE = 1e-4;

/** What one PyTorch run reported (one JSON line). */
export interface TorchRun {
  /** Median over timed steps of sequence tokens / step seconds. */
  tokensPerSecond: number;
  /** Median over timed steps of sequence tokens / CPU seconds of the whole process (all threads). */
  tokensPerCpuSecond: number;
  stepSeconds: number[];
  stepCpuSeconds: number[];
  stepTokens: number[];
  /** Elements of the PyTorch module's parameters. */
  parameters: number;
  /** Elements read from our weights file. */
  loadedParameters: number;
  /** Mean loss of step 0, before any update (nats). */
  firstLoss: number;
  /** DPO only: the start model's mean token NLL over every reference row (nats); null otherwise. */
  referenceMeanNll: number | null;
  torch: string;
  torchThreads: number;
  blasThreads: number;
}

/** Undefined when PyTorch can run with `python`; otherwise what is missing, with the install command. */
export function torchMissing(python: string): string | undefined {
  const probe = spawnSync(python, ["-c", "import numpy, torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    return `${python} not found: install Python 3 and PyTorch (Debian: apt-get install python3-torch)`;
  }
  if (probe.status !== 0) {
    return `PyTorch missing for ${python}: apt-get install python3-torch (${probe.stderr.trim().split("\n").pop()})`;
  }
  return undefined;
}

/** Writes the model's current weights as F32 safetensors with Hugging Face names (what the script loads). */
export async function writeInitialWeights({ model, path }: { model: LlamaModel; path: string }): Promise<void> {
  await writeSafetensorsFile({
    path,
    tensors: model.layout.map((entry) => ({
      name: entry.name,
      shape: entry.shape,
      data: model.parameter(entry.name).data,
    })),
  });
}

/** Writes `inputs` as JSON into `directory`; returns the path. */
export function writeTorchInputs({ directory, inputs }: { directory: string; inputs: unknown }): string {
  const path = join(directory, "inputs.json");
  writeFileSync(path, JSON.stringify(inputs));
  return path;
}

/**
 * Runs the script with our weights and inputs at the given thread counts. Returns undefined (after
 * one stderr line with the script's error) when the run fails.
 */
export function runTorchSide({
  python,
  config,
  weights,
  inputs,
  torchThreads,
  blasThreads,
  extraArguments = [],
}: {
  python: string;
  config: LlamaConfig;
  /** Path of the safetensors file from `writeInitialWeights`. */
  weights: string;
  /** Path of the JSON file from `writeTorchInputs`. */
  inputs: string;
  torchThreads: number;
  blasThreads: number;
  /** Further flags: --objective, --steps, --warmup, --learning-rate, ... */
  extraArguments?: readonly string[];
}): TorchRun | undefined {
  const script = join(import.meta.dirname, "..", "..", "scripts", "torch-train-throughput.py");
  const result = spawnSync(
    python,
    [
      script,
      "--config",
      JSON.stringify(config),
      "--weights",
      weights,
      "--inputs",
      inputs,
      "--torch-threads",
      String(torchThreads),
      ...extraArguments,
    ],
    {
      encoding: "utf8",
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(blasThreads), OMP_NUM_THREADS: String(torchThreads) },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (result.status !== 0) {
    const reason = (result.stderr || String(result.error ?? "")).trim().split("\n").pop();
    process.stderr.write(`  pytorch run failed (torch ${torchThreads}, OpenBLAS ${blasThreads}): ${reason}\n`);
    return undefined;
  }
  return JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as TorchRun;
}

/**
 * Throws unless PyTorch built a model of our parameter count, loaded all of our weights, and its
 * step-0 loss is within STEP_ZERO_TOLERANCE of ours: timings of two different computations mean nothing.
 */
export function checkStepZero({
  what,
  ours,
  torch,
}: {
  /** Names the measurement in the message, e.g. `small dpo`. */
  what: string;
  ours: { parameters: number; firstLoss: number };
  torch: TorchRun;
}): void {
  if (torch.parameters !== ours.parameters || torch.loadedParameters !== ours.parameters) {
    throw new Error(
      `${what}: PyTorch has ${torch.parameters} parameters (${torch.loadedParameters} loaded from our weights), ours ${ours.parameters}`,
    );
  }
  const difference = Math.abs(torch.firstLoss - ours.firstLoss);
  if (!(difference <= STEP_ZERO_TOLERANCE)) {
    throw new Error(
      `${what}: step-0 loss differs: ours ${ours.firstLoss}, PyTorch ${torch.firstLoss} (|difference| ${difference} > ${STEP_ZERO_TOLERANCE}); not timing different computations`,
    );
  }
}

/** The middle value (upper middle for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
