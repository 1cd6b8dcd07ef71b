/**
 * `npm run bench -- train-objectives [--config small] [--objectives sft,stable-alignment,dpo] [--steps N]
 *   [--warmup N] [--rounds N] [--prompts-per-step N] [--python PATH]`
 *
 * Tokens/s of one optimizer step of each training objective, ours (the trainer users run:
 * src/train/training-loop.ts runTraining, one prompt per micro-batch, `--prompts-per-step` prompts per
 * step, default 8 as the model card's gradient accumulation) against the same objectives written in
 * PyTorch (scripts/torch-train-throughput.py --objective: mean token NLL per response, SPEC 3's
 * formula with gaps against the best by rating, DPO's sigmoid loss with the start model as
 * reference) on the same prompts, in the same order, from the same weights (ours, written to a
 * safetensors file PyTorch loads). Data: random tokens, prompts of 64-127 tokens, three responses of
 * 24-95 tokens with distinct ratings in 1-7 (so Stable Alignment at num_comp 3 takes all three, DPO
 * best and worst, SFT the best). Tokens are sequence tokens (prompt + response, unpadded) of the
 * responses that enter the step, counted alike on both sides; a run's rate is the median over its timed
 * steps. Before timing, each objective's step 0 runs on both sides, which must agree on the parameter
 * count and the step-0 loss within 1e-4 nats (then every timed PyTorch run is checked again, with its
 * tokens per step): otherwise the bench stops naming both numbers. Each side runs at the best of its
 * thread settings (ours BLAS threads {1, 2}; PyTorch torch threads x OpenBLAS threads {1, 2}),
 * alternating for `rounds` rounds. One JSON line per objective with ours / PyTorch (target >= 1.2).
 * Without Python or PyTorch it says what is missing and reports PyTorch as null.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createAdamW, createBlas, createRandom, createTensorMemory } from "../src/engine/index.js";
import { createLlamaModel, type LlamaModel, type LlamaPresetName, llamaPresets } from "../src/model/llama/index.js";
import type { TrainingPrompt } from "../src/train/training-examples.js";
import {
  batchResponses,
  computeReferenceLogProbabilities,
  runTraining,
  trainingOrder,
} from "../src/train/training-loop.js";
import { defaultTrainingSettings, type TrainingLoss, type TrainingSettings } from "../src/train/training-settings.js";
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

const OBJECTIVES = ["sft", "stable-alignment", "dpo"] as const;
type BenchObjective = (typeof OBJECTIVES)[number];
const RESPONSES_PER_PROMPT = 3;

interface Run {
  side: "ours" | "pytorch";
  tokensPerSecond: number;
  blasThreads: number;
  torchThreads?: number;
  torch?: string;
}

/** Seeded random prompts: random tokens (never 0, the padding id), three distinctly rated responses each. */
function benchPrompts({ count, vocabularySize }: { count: number; vocabularySize: number }): TrainingPrompt[] {
  const random = createRandom({ seed: 20261129 });
  const tokens = (length: number): number[] => Array.from({ length }, () => 1 + random.nextInteger(vocabularySize - 1));
  return Array.from({ length: count }, (_, index) => {
    const ratings = [1, 2, 3, 4, 5, 6, 7];
    for (let position = ratings.length - 1; position > 0; position -= 1) {
      const swap = random.nextInteger(position + 1);
      [ratings[position], ratings[swap]] = [ratings[swap] as number, ratings[position] as number];
    }
    return {
      line: index + 1,
      sourceId: `bench-${index}`,
      kind: "realignment",
      promptTokens: tokens(64 + random.nextInteger(64)),
      responses: Array.from({ length: RESPONSES_PER_PROMPT }, (_, response) => ({
        tokens: tokens(24 + random.nextInteger(72)),
        rating: ratings[response] as number,
      })),
    };
  });
}

function settingsFor({ objective, promptsPerStep }: { objective: BenchObjective; promptsPerStep: number }) {
  const settings: TrainingSettings = {
    ...defaultTrainingSettings({ start: "init" }),
    loss: objective satisfies TrainingLoss,
    numComp: RESPONSES_PER_PROMPT,
    gradientAccumulation: promptsPerStep,
    epochs: 1,
  };
  return settings;
}

/** Sequence tokens (prompt + response, capped at maxLength) of the responses that enter each step. */
function tokensPerStep({
  prompts,
  order,
  settings,
  steps,
}: {
  prompts: readonly TrainingPrompt[];
  order: readonly number[];
  settings: TrainingSettings;
  steps: number;
}): number[] {
  return Array.from({ length: steps }, (_, step) => {
    let tokens = 0;
    for (
      let position = step * settings.gradientAccumulation;
      position < (step + 1) * settings.gradientAccumulation;
      position += 1
    ) {
      const prompt = prompts[order[position] as number] as TrainingPrompt;
      for (const index of batchResponses({ prompt, settings, position })) {
        const response = prompt.responses[index];
        tokens += Math.min(settings.maxLength, prompt.promptTokens.length + (response?.tokens.length ?? 0));
      }
    }
    return tokens;
  });
}

/** The start model's mean token NLL over the responses DPO's batches hold (nats). */
function meanReferenceNll({
  prompts,
  references,
  settings,
}: {
  prompts: readonly TrainingPrompt[];
  references: readonly (readonly number[])[];
  settings: TrainingSettings;
}): number {
  let logProbability = 0;
  let tokens = 0;
  for (const [promptIndex, prompt] of prompts.entries()) {
    for (const index of batchResponses({ prompt, settings, position: promptIndex })) {
      logProbability += references[promptIndex]?.[index] as number;
      tokens += prompt.responses[index]?.tokens.length as number;
    }
  }
  return -logProbability / tokens;
}

/** Our trainer for `warmup + steps` optimizer steps from the seed-0 weights; the median rate of the timed steps. */
async function measureOurs({
  preset,
  settings,
  prompts,
  references,
  steps,
  warmup,
  threads,
}: {
  preset: LlamaPresetName;
  settings: TrainingSettings;
  prompts: readonly TrainingPrompt[];
  references: number[][] | undefined;
  steps: number;
  warmup: number;
  threads: number;
}): Promise<Run & { firstLoss: number; parameters: number }> {
  const model = createLlamaModel({
    config: llamaPresets[preset],
    blas: createBlas({ threads }),
    memory: createTensorMemory(),
    seed: 0,
  });
  const optimizer = createAdamW({
    parameters: model.parameters,
    gradients: model.gradients,
    learningRate: settings.learningRate,
    weightDecay: settings.weightDecay,
    noDecay: model.layout
      .filter((entry) => entry.kind === "norm")
      .map((entry) => ({ offset: entry.offset, length: entry.size })),
  });
  const rates: number[] = [];
  let firstLoss = Number.NaN;
  const stop = new AbortController();
  await runTraining({
    model,
    optimizer,
    settings,
    prompts,
    heldOut: [],
    ...(references === undefined ? {} : { references }),
    cursor: { step: 0, consumed: 0 },
    maxLength: Math.min(settings.maxLength, model.config.maxPositions),
    onStep: (metrics) => {
      if (metrics.step === 1) firstLoss = metrics.loss;
      if (metrics.step > warmup) rates.push(metrics.tokensPerSecond);
      if (metrics.step >= warmup + steps) stop.abort();
    },
    signal: stop.signal,
  });
  return {
    side: "ours",
    tokensPerSecond: median(rates),
    blasThreads: model.blas.threads,
    firstLoss,
    parameters: model.parameters.length,
  };
}

function initialModel(preset: LlamaPresetName): LlamaModel {
  return createLlamaModel({ config: llamaPresets[preset], blas: createBlas({ threads: 1 }), seed: 0 });
}

function best(runs: readonly Run[], side: Run["side"]): Run | undefined {
  return runs
    .filter((run) => run.side === side)
    .reduce<Run | undefined>(
      (winner, run) => (winner === undefined || run.tokensPerSecond > winner.tokensPerSecond ? run : winner),
      undefined,
    );
}

function wholeNumber(name: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`--${name} must be a whole number >= ${minimum}, got ${text}`);
  }
  return value;
}

export default async function trainObjectives(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", default: "small" },
      objectives: { type: "string", default: OBJECTIVES.join(",") },
      steps: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      rounds: { type: "string", default: "1" },
      "prompts-per-step": { type: "string", default: "8" },
      python: { type: "string", default: "/usr/bin/python3" },
    },
  });
  if (!(values.config in llamaPresets)) {
    throw new RangeError(`--config ${values.config} is no preset; presets: ${Object.keys(llamaPresets).join(", ")}`);
  }
  const preset = values.config as LlamaPresetName;
  const objectives = values.objectives.split(",").map((name) => {
    if (!(OBJECTIVES as readonly string[]).includes(name)) {
      throw new RangeError(`--objectives: ${name} is not one of ${OBJECTIVES.join(", ")}`);
    }
    return name as BenchObjective;
  });
  const steps = wholeNumber("steps", values.steps, 1);
  const warmup = wholeNumber("warmup", values.warmup, 0);
  const rounds = wholeNumber("rounds", values.rounds, 1);
  const promptsPerStep = wholeNumber("prompts-per-step", values["prompts-per-step"], 1);
  const threadChoices = [...new Set([1, Math.min(2, availableParallelism())])];
  const missing = torchMissing(values.python);
  if (missing !== undefined) process.stderr.write(`PyTorch side skipped: ${missing}\n`);

  const directory = mkdtempSync(join(tmpdir(), "bench-train-objectives-"));
  try {
    const initial = initialModel(preset);
    const weights = join(directory, "initial.safetensors");
    await writeInitialWeights({ model: initial, path: weights });
    const prompts = benchPrompts({
      count: promptsPerStep * (warmup + steps),
      vocabularySize: initial.config.vocabularySize,
    });
    for (const objective of objectives) {
      const settings = settingsFor({ objective, promptsPerStep });
      const order = trainingOrder({ prompts, settings });
      const expectedTokens = tokensPerStep({ prompts, order, settings, steps: warmup + steps });
      const references =
        objective === "dpo"
          ? computeReferenceLogProbabilities({ model: initial, prompts, maxLength: settings.maxLength })
          : undefined;
      const referenceMeanNll = references === undefined ? null : meanReferenceNll({ prompts, references, settings });
      const inputs = writeTorchInputs({ directory, inputs: { prompts, order, settings } });
      const torchArguments = (count: number, warm: number) => [
        "--objective",
        objective,
        "--steps",
        String(count),
        "--warmup",
        String(warm),
        "--learning-rate",
        String(settings.learningRate),
        "--weight-decay",
        String(settings.weightDecay),
      ];
      const what = `${preset} ${objective}`;
      const check = (run: TorchRun, ours: { parameters: number; firstLoss: number }, warm: number) => {
        checkStepZero({ what, ours, torch: run });
        // DPO's step-0 loss is log 2 whenever policy equals reference: the references check the forward pass.
        if (referenceMeanNll !== null) {
          const difference = Math.abs((run.referenceMeanNll ?? Number.NaN) - referenceMeanNll);
          if (!(difference <= STEP_ZERO_TOLERANCE)) {
            throw new Error(
              `${what}: reference mean token NLL differs: ours ${referenceMeanNll}, PyTorch ${run.referenceMeanNll} (|difference| ${difference} > ${STEP_ZERO_TOLERANCE})`,
            );
          }
        }
        const expected = expectedTokens.slice(warm, warm + run.stepTokens.length);
        if (JSON.stringify(run.stepTokens) !== JSON.stringify(expected)) {
          throw new Error(`${what}: PyTorch counted ${run.stepTokens} tokens per step, ours ${expected}`);
        }
      };
      // Before timing: step 0 on both sides must agree.
      const reference = await measureOurs({ preset, settings, prompts, references, steps: 1, warmup: 0, threads: 1 });
      let pytorchFirstLoss: number | null = null;
      let pytorchReferenceMeanNll: number | null = null;
      if (missing === undefined) {
        const probe = runTorchSide({
          python: values.python,
          config: llamaPresets[preset],
          weights,
          inputs,
          torchThreads: 1,
          blasThreads: 1,
          extraArguments: torchArguments(1, 0),
        });
        if (probe === undefined) throw new Error(`${what}: the PyTorch step-0 check run failed`);
        check(probe, reference, 0);
        pytorchFirstLoss = probe.firstLoss;
        pytorchReferenceMeanNll = probe.referenceMeanNll;
        process.stderr.write(
          `  ${what} step 0 agrees: ${reference.parameters} parameters, loss ours ${reference.firstLoss} PyTorch ${probe.firstLoss}\n`,
        );
      }
      const runs: Run[] = [];
      for (let round = 0; round < rounds; round += 1) {
        for (const threads of threadChoices) {
          const ours = await measureOurs({ preset, settings, prompts, references, steps, warmup, threads });
          runs.push(ours);
          process.stderr.write(
            `  ${what} round ${round + 1} ours, BLAS threads ${threads}: ${ours.tokensPerSecond.toFixed(0)} tokens/s\n`,
          );
        }
        if (missing !== undefined) continue;
        for (const torchThreads of threadChoices) {
          for (const blasThreads of threadChoices) {
            const run = runTorchSide({
              python: values.python,
              config: llamaPresets[preset],
              weights,
              inputs,
              torchThreads,
              blasThreads,
              extraArguments: torchArguments(steps, warmup),
            });
            if (run === undefined) continue;
            check(run, reference, warmup);
            runs.push({
              side: "pytorch",
              tokensPerSecond: run.tokensPerSecond,
              torchThreads,
              blasThreads,
              torch: run.torch,
            });
            process.stderr.write(
              `  ${what} round ${round + 1} pytorch, torch threads ${torchThreads}, OpenBLAS threads ${blasThreads}: ${run.tokensPerSecond.toFixed(0)} tokens/s\n`,
            );
          }
        }
      }
      const ours = best(runs, "ours");
      const pytorch = best(runs, "pytorch");
      const timedTokens = expectedTokens.slice(warmup);
      console.log(
        JSON.stringify({
          bench: "train-objectives",
          config: preset,
          objective,
          numComp: settings.numComp,
          promptsPerStep,
          tokensPerStep: Math.round(timedTokens.reduce((sum, value) => sum + value, 0) / timedTokens.length),
          oursTokensPerSecond: ours === undefined ? null : Math.round(ours.tokensPerSecond),
          pytorchTokensPerSecond: pytorch === undefined ? null : Math.round(pytorch.tokensPerSecond),
          ratio:
            ours === undefined || pytorch === undefined
              ? null
              : Number((ours.tokensPerSecond / pytorch.tokensPerSecond).toFixed(3)),
          target: 1.2,
          stepZero: {
            parameters: reference.parameters,
            oursLoss: reference.firstLoss,
            pytorchLoss: pytorchFirstLoss,
            ...(referenceMeanNll === null
              ? {}
              : { oursReferenceMeanNll: referenceMeanNll, pytorchReferenceMeanNll: pytorchReferenceMeanNll }),
            tolerance: STEP_ZERO_TOLERANCE,
          },
          ours: ours === undefined ? null : { blasThreads: ours.blasThreads },
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
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
