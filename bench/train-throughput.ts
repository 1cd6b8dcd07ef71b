/**
 * `npm run bench -- train-throughput [--configs small,30m] [--steps N] [--warmup N] [--rounds N] [--python PATH]
 *   [--blas-library PATH] [--threads 1,2]`
 *
 * Trains each llama preset (sequence 128, batch 8, AdamW, clipping at norm 1, random tokens) with our
 * engine and with PyTorch + OpenBLAS (scripts/torch-train-throughput.py) in the same run, and prints
 * one JSON line per config: tokens/s for both and ours / PyTorch, and the same per CPU second of the
 * whole process (`perCpuSecond`), which other load on a shared machine distorts less. Both sides start from the same
 * weights (ours, written to a safetensors file PyTorch loads) on the same batch; before any timing, one
 * step on each side must agree on the parameter count and the step-0 loss (within 1e-4 nats), and every
 * timed PyTorch run is checked again: otherwise the bench stops with the two numbers. Each side runs at the best of its
 * thread settings: ours at BLAS threads {1, 2}, PyTorch at torch threads {1, 2} x OpenBLAS threads
 * {1, 2} (`--threads` narrows the set). Measurements alternate between the two sides for `rounds` rounds, and every number is the
 * median step time of its run, so load from other processes hits both sides alike. Target: ratio >=
 * 0.7 on `small`. Installs nothing: without Python or torch it says what is missing and reports
 * PyTorch as null. Nothing asserts on the numbers. The first line (stderr) names the BLAS and warns
 * when it is the reference BLAS or none (up to 35x slower training). `--blas-library` makes our side
 * load only that library (the reference BLAS: /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 on Debian),
 * or the TypeScript fallback when it does not load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBlas, createTensorMemory, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { createLlamaModel, createLlamaTrainer, type LlamaPresetName, llamaPresets } from "../src/model/llama/index.js";
import {
  checkStepZero,
  median,
  runTorchSide,
  STEP_ZERO_TOLERANCE,
  type TorchRun,
  torchMissing,
  writeInitialWeights,
  writeTorchInputs,
} from "./support/torch-side.js";

const batchSize = 8;
const sequenceLength = 128;
const tokensPerStep = batchSize * sequenceLength;

interface Run {
  side: "ours" | "pytorch";
  tokensPerSecond: number;
  /** Tokens per CPU second of the whole process (median step): less distorted by other load than wall time. */
  tokensPerCpuSecond: number;
  torchThreads?: number;
  blasThreads: number;
  torch?: string;
  blas?: string;
}

/** The bench's batch: random tokens and targets from a fixed linear congruential sequence. */
function benchBatch(vocabularySize: number): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(tokensPerStep);
  const targets = new Int32Array(tokensPerStep);
  let state = 12345;
  for (let index = 0; index < tokensPerStep; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    tokens[index] = state % vocabularySize;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    targets[index] = state % vocabularySize;
  }
  return { tokens, targets };
}

function ourModel(preset: LlamaPresetName, threads: number, libraryPaths: readonly string[] | undefined) {
  const blas = createBlas(libraryPaths === undefined ? { threads } : { threads, libraryPaths });
  return createLlamaModel({ config: llamaPresets[preset], blas, memory: createTensorMemory(), seed: 0 });
}

function measureOurs(
  preset: LlamaPresetName,
  steps: number,
  warmup: number,
  threads: number,
  libraryPaths: readonly string[] | undefined,
): Run & { parameters: number; firstLoss: number } {
  const model = ourModel(preset, threads, libraryPaths);
  const trainer = createLlamaTrainer({ model, learningRate: 3e-4, weightDecay: 0.01 });
  const { tokens, targets } = benchBatch(model.config.vocabularySize);
  const stepSeconds: number[] = [];
  const stepCpuSeconds: number[] = [];
  let firstLoss = Number.NaN;
  for (let step = 0; step < warmup + steps; step++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const { loss } = trainer.step({ tokens, targets, batchSize, sequenceLength });
    if (step === 0) firstLoss = loss;
    if (step >= warmup) {
      stepSeconds.push((performance.now() - start) / 1000);
      const used = process.cpuUsage(cpu);
      stepCpuSeconds.push((used.user + used.system) / 1e6);
    }
  }
  return {
    side: "ours",
    tokensPerSecond: tokensPerStep / median(stepSeconds),
    tokensPerCpuSecond: tokensPerStep / median(stepCpuSeconds),
    blasThreads: model.blas.threads,
    blas: `${model.blas.description}; ${model.memory.description}`,
    parameters: model.parameters.length,
    firstLoss,
  };
}

function measureTorch(options: {
  python: string;
  preset: LlamaPresetName;
  files: { weights: string; inputs: string };
  steps: number;
  warmup: number;
  torchThreads: number;
  blasThreads: number;
}): TorchRun | undefined {
  const { preset, steps, warmup, torchThreads, blasThreads } = options;
  return runTorchSide({
    python: options.python,
    config: llamaPresets[preset],
    ...options.files,
    torchThreads,
    blasThreads,
    extraArguments: [
      "--steps",
      String(steps),
      "--warmup",
      String(warmup),
      "--batch-size",
      String(batchSize),
      "--sequence-length",
      String(sequenceLength),
      "--learning-rate",
      "3e-4",
      "--weight-decay",
      "0.01",
    ],
  });
}

function best(
  runs: Run[],
  side: Run["side"],
  rate: "tokensPerSecond" | "tokensPerCpuSecond" = "tokensPerSecond",
): Run | undefined {
  return runs
    .filter((run) => run.side === side)
    .reduce<Run | undefined>(
      (winner, run) => (winner === undefined || run[rate] > winner[rate] ? run : winner),
      undefined,
    );
}

export default async function trainThroughput(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      configs: { type: "string", default: "small,30m" },
      steps: { type: "string" },
      warmup: { type: "string", default: "2" },
      rounds: { type: "string", default: "2" },
      python: { type: "string", default: "/usr/bin/python3" },
      "blas-library": { type: "string" },
      threads: { type: "string", default: "1,2" },
    },
  });
  const libraryPaths = values["blas-library"] === undefined ? undefined : [values["blas-library"]];
  // Every training entry point names its BLAS first, with a warning when it makes training slow.
  const engine = describeEngine(libraryPaths === undefined ? { threads: 1 } : { threads: 1, libraryPaths });
  process.stderr.write(`${formatEngineLine(engine)}\n`);
  const warmup = Number(values.warmup);
  const rounds = Number(values.rounds);
  const threadChoices = [
    ...new Set(
      values.threads.split(",").map((text) => {
        const value = Number(text);
        if (!Number.isInteger(value) || value < 1)
          throw new RangeError(`--threads: ${text} is not a whole number >= 1`);
        return Math.min(value, availableParallelism());
      }),
    ),
  ];
  const missing = torchMissing(values.python);
  if (missing !== undefined) {
    process.stderr.write(`PyTorch side skipped: ${missing}\n`);
  }
  const directory = mkdtempSync(join(tmpdir(), "bench-train-throughput-"));
  try {
    for (const name of values.configs.split(",")) {
      if (!(name in llamaPresets)) {
        throw new Error(`unknown config ${name}; presets: ${Object.keys(llamaPresets).join(", ")}`);
      }
      const preset = name as LlamaPresetName;
      const steps = Number(values.steps ?? (preset === "30m" ? 4 : 8));
      const runs: Run[] = [];
      // Same weights and batch on both sides: ours written to files PyTorch loads.
      const files = { weights: join(directory, `${preset}.safetensors`), inputs: "" };
      const initial = ourModel(preset, 1, libraryPaths);
      await writeInitialWeights({ model: initial, path: files.weights });
      const { tokens, targets } = benchBatch(initial.config.vocabularySize);
      files.inputs = writeTorchInputs({ directory, inputs: { tokens: [...tokens], targets: [...targets] } });
      // Before timing: one step on each side must agree.
      const reference = measureOurs(preset, 1, 0, 1, libraryPaths);
      let checked: { parameters: number; firstLoss: number; torchFirstLoss: number } | undefined;
      if (missing === undefined) {
        const probe = measureTorch({
          python: values.python,
          preset,
          files,
          steps: 1,
          warmup: 0,
          torchThreads: 1,
          blasThreads: 1,
        });
        if (probe === undefined) throw new Error(`${preset}: the PyTorch step-0 check run failed`);
        checkStepZero({ what: `${preset} next-token`, ours: reference, torch: probe });
        checked = { parameters: reference.parameters, firstLoss: reference.firstLoss, torchFirstLoss: probe.firstLoss };
        process.stderr.write(
          `  ${preset} step 0 agrees: ${reference.parameters} parameters, loss ours ${reference.firstLoss} PyTorch ${probe.firstLoss}\n`,
        );
      }
      for (let round = 0; round < rounds; round++) {
        for (const threads of threadChoices) {
          const ours = measureOurs(preset, steps, warmup, threads, libraryPaths);
          runs.push(ours);
          process.stderr.write(
            `  ${preset} round ${round + 1} ours, BLAS threads ${threads}: ${ours.tokensPerSecond.toFixed(0)} tokens/s\n`,
          );
        }
        if (missing !== undefined) {
          continue;
        }
        for (const torchThreads of threadChoices) {
          for (const blasThreads of threadChoices) {
            const run = measureTorch({
              python: values.python,
              preset,
              files,
              steps,
              warmup,
              torchThreads,
              blasThreads,
            });
            if (run === undefined) continue;
            checkStepZero({ what: `${preset} next-token`, ours: reference, torch: run });
            runs.push({
              side: "pytorch",
              tokensPerSecond: run.tokensPerSecond,
              tokensPerCpuSecond: run.tokensPerCpuSecond,
              torchThreads,
              blasThreads,
              torch: run.torch,
            });
            process.stderr.write(
              `  ${preset} round ${round + 1} pytorch, torch threads ${torchThreads}, OpenBLAS threads ${blasThreads}: ${run.tokensPerSecond.toFixed(0)} tokens/s\n`,
            );
          }
        }
      }
      const ours = best(runs, "ours");
      const pytorch = best(runs, "pytorch");
      const oursCpu = best(runs, "ours", "tokensPerCpuSecond");
      const pytorchCpu = best(runs, "pytorch", "tokensPerCpuSecond");
      console.log(
        JSON.stringify({
          bench: "train-throughput",
          config: preset,
          parameters: reference.parameters,
          batchSize,
          sequenceLength,
          oursTokensPerSecond: ours === undefined ? null : Math.round(ours.tokensPerSecond),
          pytorchTokensPerSecond: pytorch === undefined ? null : Math.round(pytorch.tokensPerSecond),
          ratio:
            ours === undefined || pytorch === undefined
              ? null
              : Number((ours.tokensPerSecond / pytorch.tokensPerSecond).toFixed(3)),
          target: preset === "small" ? 0.7 : null,
          perCpuSecond:
            oursCpu === undefined || pytorchCpu === undefined
              ? null
              : {
                  ours: Math.round(oursCpu.tokensPerCpuSecond),
                  pytorch: Math.round(pytorchCpu.tokensPerCpuSecond),
                  ratio: Number((oursCpu.tokensPerCpuSecond / pytorchCpu.tokensPerCpuSecond).toFixed(3)),
                },
          stepZero:
            checked === undefined
              ? null
              : {
                  sameWeights: true,
                  parameters: checked.parameters,
                  oursLoss: checked.firstLoss,
                  pytorchLoss: checked.torchFirstLoss,
                  tolerance: STEP_ZERO_TOLERANCE,
                },
          ours: ours === undefined ? null : { blasThreads: ours.blasThreads, engine: ours.blas },
          pytorch:
            pytorch === undefined
              ? { missing: missing ?? "every PyTorch run failed" }
              : { torch: pytorch.torch, torchThreads: pytorch.torchThreads, blasThreads: pytorch.blasThreads },
          runs: runs.map((run) => ({
            side: run.side,
            blasThreads: run.blasThreads,
            torchThreads: run.torchThreads,
            tokensPerSecond: Math.round(run.tokensPerSecond),
            tokensPerCpuSecond: Math.round(run.tokensPerCpuSecond),
          })),
        }),
      );
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
