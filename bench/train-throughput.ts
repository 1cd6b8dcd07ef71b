/**
 * `npm run bench -- train-throughput [--configs small,30m] [--steps N] [--warmup N] [--python PATH]`
 *
 * Trains each llama preset (sequence 128, batch 8, AdamW, clipping) with our engine and with PyTorch
 * + OpenBLAS in the same run, PyTorch at the best of torch threads {1, 2} x OpenBLAS threads {1, 2}
 * (scripts/torch-train-throughput.py), and prints one JSON line per config with tokens/s for both
 * and ours / PyTorch. Target: ratio >= 0.7 on `small`. Installs nothing: without Python or torch it
 * says what is missing and reports PyTorch as null. Nothing asserts on the numbers.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBlas } from "../src/engine/index.js";
import { createLlamaModel, createLlamaTrainer, type LlamaPresetName, llamaPresets } from "../src/model/llama/index.js";

const batchSize = 8;
const sequenceLength = 128;

interface TorchResult {
  tokensPerSecond: number;
  torch: string;
  torchThreads: number;
  blasThreads: number | null;
}

function measureOurs(preset: LlamaPresetName, steps: number, warmup: number, threads: number) {
  const blas = createBlas({ threads });
  const model = createLlamaModel({ config: llamaPresets[preset], blas, seed: 0 });
  const trainer = createLlamaTrainer({ model, learningRate: 3e-4, weightDecay: 0.01 });
  const rows = batchSize * sequenceLength;
  const tokens = new Int32Array(rows);
  const targets = new Int32Array(rows);
  let state = 12345;
  for (let index = 0; index < rows; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    tokens[index] = state % model.config.vocabularySize;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    targets[index] = state % model.config.vocabularySize;
  }
  let start = 0;
  let loss = 0;
  for (let step = 0; step < warmup + steps; step++) {
    if (step === warmup) {
      start = performance.now();
    }
    loss = trainer.step({ tokens, targets, batchSize, sequenceLength }).loss;
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    tokensPerSecond: (steps * rows) / seconds,
    secondsPerStep: seconds / steps,
    parameters: model.parameters.length,
    blas: blas.description,
    finalLoss: loss,
  };
}

function measureTorch(
  python: string,
  preset: LlamaPresetName,
  steps: number,
  warmup: number,
): { best: TorchResult | null; runs: TorchResult[]; missing?: string } {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    const missing =
      probe.error !== undefined
        ? `${python} not found: install Python 3 (Debian: apt-get install python3-torch)`
        : `PyTorch missing for ${python}: apt-get install python3-torch (${probe.stderr.trim().split("\n").pop()})`;
    return { best: null, runs: [], missing };
  }
  const script = join(import.meta.dirname, "..", "scripts", "torch-train-throughput.py");
  const runs: TorchResult[] = [];
  for (const torchThreads of [1, 2]) {
    for (const blasThreads of [1, 2]) {
      const result = spawnSync(
        python,
        [
          script,
          "--config",
          JSON.stringify(llamaPresets[preset]),
          "--torch-threads",
          String(torchThreads),
          "--steps",
          String(steps),
          "--warmup",
          String(warmup),
          "--batch-size",
          String(batchSize),
          "--sequence-length",
          String(sequenceLength),
        ],
        { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: String(blasThreads) } },
      );
      if (result.status !== 0) {
        process.stderr.write(`torch run failed (threads ${torchThreads}/${blasThreads}): ${result.stderr}\n`);
        continue;
      }
      const parsed = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as TorchResult;
      process.stderr.write(
        `  pytorch ${preset} torch threads ${torchThreads}, OpenBLAS threads ${blasThreads}: ${parsed.tokensPerSecond.toFixed(0)} tokens/s\n`,
      );
      runs.push(parsed);
    }
  }
  const best = runs.reduce<TorchResult | null>(
    (winner, run) => (winner === null || run.tokensPerSecond > winner.tokensPerSecond ? run : winner),
    null,
  );
  return { best, runs };
}

export default async function trainThroughput(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      configs: { type: "string", default: "small,30m" },
      steps: { type: "string" },
      warmup: { type: "string", default: "2" },
      python: { type: "string", default: "/usr/bin/python3" },
      threads: { type: "string", default: String(availableParallelism()) },
    },
  });
  const warmup = Number(values.warmup);
  const threads = Number(values.threads);
  for (const name of values.configs.split(",")) {
    if (!(name in llamaPresets)) {
      throw new Error(`unknown config ${name}; presets: ${Object.keys(llamaPresets).join(", ")}`);
    }
    const preset = name as LlamaPresetName;
    const steps = Number(values.steps ?? (preset === "30m" ? 4 : 10));
    process.stderr.write(`train-throughput ${preset}: ours (${threads} BLAS threads)...\n`);
    const ours = measureOurs(preset, steps, warmup, threads);
    process.stderr.write(`  ours ${preset}: ${ours.tokensPerSecond.toFixed(0)} tokens/s (${ours.blas})\n`);
    const torch = measureTorch(values.python, preset, steps, warmup);
    if (torch.missing !== undefined) {
      process.stderr.write(`  PyTorch skipped: ${torch.missing}\n`);
    }
    const pytorch = torch.best;
    console.log(
      JSON.stringify({
        bench: "train-throughput",
        config: preset,
        batchSize,
        sequenceLength,
        parameters: ours.parameters,
        oursTokensPerSecond: Math.round(ours.tokensPerSecond),
        pytorchTokensPerSecond: pytorch === null ? null : Math.round(pytorch.tokensPerSecond),
        ratio: pytorch === null ? null : Number((ours.tokensPerSecond / pytorch.tokensPerSecond).toFixed(3)),
        target: preset === "small" ? 0.7 : null,
        ours: { blas: ours.blas, secondsPerStep: ours.secondsPerStep, finalLoss: ours.finalLoss },
        pytorch:
          pytorch === null
            ? { missing: torch.missing ?? "every PyTorch run failed" }
            : {
                torch: pytorch.torch,
                torchThreads: pytorch.torchThreads,
                blasThreads: pytorch.blasThreads,
                allRuns: torch.runs.map((run) => ({
                  torchThreads: run.torchThreads,
                  blasThreads: run.blasThreads,
                  tokensPerSecond: Math.round(run.tokensPerSecond),
                })),
              },
      }),
    );
  }
}
