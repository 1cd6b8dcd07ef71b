/**
 * `npm run bench -- train-throughput [--configs small,30m] [--steps N] [--warmup N] [--rounds N] [--python PATH]
 *   [--blas-library PATH]`
 *
 * Trains each llama preset (sequence 128, batch 8, AdamW, clipping at norm 1, random tokens) with our
 * engine and with PyTorch + OpenBLAS (scripts/torch-train-throughput.py) in the same run, and prints
 * one JSON line per config: tokens/s for both and ours / PyTorch. Each side runs at the best of its
 * thread settings: ours at BLAS threads {1, 2}, PyTorch at torch threads {1, 2} x OpenBLAS threads
 * {1, 2}. Measurements alternate between the two sides for `rounds` rounds, and every number is the
 * median step time of its run, so load from other processes hits both sides alike. Target: ratio >=
 * 0.7 on `small`. Installs nothing: without Python or torch it says what is missing and reports
 * PyTorch as null. Nothing asserts on the numbers. The first line (stderr) names the BLAS and warns
 * when it is the reference BLAS or none (up to 35x slower training). `--blas-library` makes our side
 * load only that library (the reference BLAS: /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 on Debian),
 * or the TypeScript fallback when it does not load.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBlas, createTensorMemory, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { createLlamaModel, createLlamaTrainer, type LlamaPresetName, llamaPresets } from "../src/model/llama/index.js";

const batchSize = 8;
const sequenceLength = 128;
const tokensPerStep = batchSize * sequenceLength;

interface Run {
  side: "ours" | "pytorch";
  tokensPerSecond: number;
  torchThreads?: number;
  blasThreads: number;
  torch?: string;
  blas?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function measureOurs(
  preset: LlamaPresetName,
  steps: number,
  warmup: number,
  threads: number,
  libraryPaths: readonly string[] | undefined,
): Run & { parameters: number } {
  const blas = createBlas(libraryPaths === undefined ? { threads } : { threads, libraryPaths });
  const model = createLlamaModel({ config: llamaPresets[preset], blas, memory: createTensorMemory(), seed: 0 });
  const trainer = createLlamaTrainer({ model, learningRate: 3e-4, weightDecay: 0.01 });
  const tokens = new Int32Array(tokensPerStep);
  const targets = new Int32Array(tokensPerStep);
  let state = 12345;
  for (let index = 0; index < tokensPerStep; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    tokens[index] = state % model.config.vocabularySize;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    targets[index] = state % model.config.vocabularySize;
  }
  const stepSeconds: number[] = [];
  for (let step = 0; step < warmup + steps; step++) {
    const start = performance.now();
    trainer.step({ tokens, targets, batchSize, sequenceLength });
    if (step >= warmup) {
      stepSeconds.push((performance.now() - start) / 1000);
    }
  }
  return {
    side: "ours",
    tokensPerSecond: tokensPerStep / median(stepSeconds),
    blasThreads: blas.threads,
    blas: `${blas.description}; ${model.memory.description}`,
    parameters: model.parameters.length,
  };
}

/** Undefined when PyTorch can run; otherwise what is missing. */
function torchMissing(python: string): string | undefined {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    return `${python} not found: install Python 3 and PyTorch (Debian: apt-get install python3-torch)`;
  }
  if (probe.status !== 0) {
    return `PyTorch missing for ${python}: apt-get install python3-torch (${probe.stderr.trim().split("\n").pop()})`;
  }
  return undefined;
}

function measureTorch(options: {
  python: string;
  preset: LlamaPresetName;
  steps: number;
  warmup: number;
  torchThreads: number;
  blasThreads: number;
}): Run | undefined {
  const script = join(import.meta.dirname, "..", "scripts", "torch-train-throughput.py");
  const { preset, steps, warmup, torchThreads, blasThreads } = options;
  const result = spawnSync(
    options.python,
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
    {
      encoding: "utf8",
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(blasThreads), OMP_NUM_THREADS: String(torchThreads) },
    },
  );
  if (result.status !== 0) {
    process.stderr.write(`  pytorch run failed (torch ${torchThreads}, OpenBLAS ${blasThreads}): ${result.stderr}\n`);
    return undefined;
  }
  const parsed = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as {
    tokensPerSecond: number;
    torch: string;
  };
  return { side: "pytorch", tokensPerSecond: parsed.tokensPerSecond, torchThreads, blasThreads, torch: parsed.torch };
}

function best(runs: Run[], side: Run["side"]): Run | undefined {
  return runs
    .filter((run) => run.side === side)
    .reduce<Run | undefined>(
      (winner, run) => (winner === undefined || run.tokensPerSecond > winner.tokensPerSecond ? run : winner),
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
    },
  });
  const libraryPaths = values["blas-library"] === undefined ? undefined : [values["blas-library"]];
  // Every training entry point names its BLAS first, with a warning when it makes training slow.
  const engine = describeEngine(libraryPaths === undefined ? { threads: 1 } : { threads: 1, libraryPaths });
  process.stderr.write(`${formatEngineLine(engine)}\n`);
  const warmup = Number(values.warmup);
  const rounds = Number(values.rounds);
  const threadChoices = [...new Set([1, Math.min(2, availableParallelism())])];
  const missing = torchMissing(values.python);
  if (missing !== undefined) {
    process.stderr.write(`PyTorch side skipped: ${missing}\n`);
  }
  for (const name of values.configs.split(",")) {
    if (!(name in llamaPresets)) {
      throw new Error(`unknown config ${name}; presets: ${Object.keys(llamaPresets).join(", ")}`);
    }
    const preset = name as LlamaPresetName;
    const steps = Number(values.steps ?? (preset === "30m" ? 4 : 8));
    const runs: Run[] = [];
    let parameters = 0;
    for (let round = 0; round < rounds; round++) {
      for (const threads of threadChoices) {
        const ours = measureOurs(preset, steps, warmup, threads, libraryPaths);
        parameters = ours.parameters;
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
          const run = measureTorch({ python: values.python, preset, steps, warmup, torchThreads, blasThreads });
          if (run !== undefined) {
            runs.push(run);
            process.stderr.write(
              `  ${preset} round ${round + 1} pytorch, torch threads ${torchThreads}, OpenBLAS threads ${blasThreads}: ${run.tokensPerSecond.toFixed(0)} tokens/s\n`,
            );
          }
        }
      }
    }
    const ours = best(runs, "ours");
    const pytorch = best(runs, "pytorch");
    console.log(
      JSON.stringify({
        bench: "train-throughput",
        config: preset,
        parameters,
        batchSize,
        sequenceLength,
        oursTokensPerSecond: ours === undefined ? null : Math.round(ours.tokensPerSecond),
        pytorchTokensPerSecond: pytorch === undefined ? null : Math.round(pytorch.tokensPerSecond),
        ratio:
          ours === undefined || pytorch === undefined
            ? null
            : Number((ours.tokensPerSecond / pytorch.tokensPerSecond).toFixed(3)),
        target: preset === "small" ? 0.7 : null,
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
        })),
      }),
    );
  }
}
