/**
 * Our side of `npm run bench -- train-objectives`: the bench's seeded prompts, the settings of each
 * objective, the tokens each step trains on, and a timed run of the trainer users run (runTraining).
 */
import { createAdamW, createBlas, createRandom, createTensorMemory } from "../../src/engine/index.js";
import { createLlamaModel, type LlamaModel, type LlamaPresetName, llamaPresets } from "../../src/model/llama/index.js";
import type { TrainingPrompt } from "../../src/train/training-examples.js";
import { batchResponses, runTraining } from "../../src/train/training-loop.js";
import {
  defaultTrainingSettings,
  type TrainingLoss,
  type TrainingSettings,
} from "../../src/train/training-settings.js";
import { median } from "./torch-side.js";

/** The objectives the bench measures. */
export const OBJECTIVES = ["sft", "stable-alignment", "dpo"] as const;
/** One of them. */
export type BenchObjective = (typeof OBJECTIVES)[number];
/** Responses per bench prompt (= num_comp, so Stable Alignment takes all of them). */
export const RESPONSES_PER_PROMPT = 3;

/** One measured run of either side. */
export interface Run {
  side: "ours" | "pytorch";
  tokensPerSecond: number;
  /** Median over timed steps of tokens / CPU seconds of the whole process: less sensitive to other load. */
  tokensPerCpuSecond: number;
  blasThreads: number;
  torchThreads?: number;
  torch?: string;
}

/** Seeded random prompts: random tokens (never 0, the padding id), three distinctly rated responses each. */
export function benchPrompts({ count, vocabularySize }: { count: number; vocabularySize: number }): TrainingPrompt[] {
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

/** The trainer's settings for a fresh start (`model init` defaults), one epoch, num_comp 3. */
export function settingsFor({
  objective,
  promptsPerStep,
}: {
  objective: BenchObjective;
  promptsPerStep: number;
}): TrainingSettings {
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
export function tokensPerStep({
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
export function meanReferenceNll({
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
export async function measureOurs({
  preset,
  settings,
  prompts,
  references,
  stepTokens,
  steps,
  warmup,
  threads,
}: {
  preset: LlamaPresetName;
  settings: TrainingSettings;
  prompts: readonly TrainingPrompt[];
  references: number[][] | undefined;
  /** Sequence tokens of each step (`tokensPerStep`), for the CPU rate. */
  stepTokens: readonly number[];
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
  const cpuRates: number[] = [];
  let firstLoss = Number.NaN;
  const stop = new AbortController();
  // Between two step reports lies one step (plus a turn of the event loop).
  let cpuMark = process.cpuUsage();
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
      const cpu = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      if (metrics.step === 1) firstLoss = metrics.loss;
      if (metrics.step > warmup) {
        rates.push(metrics.tokensPerSecond);
        cpuRates.push(((stepTokens[metrics.step - 1] as number) / (cpu.user + cpu.system)) * 1e6);
      }
      if (metrics.step >= warmup + steps) stop.abort();
    },
    signal: stop.signal,
  });
  return {
    side: "ours",
    tokensPerSecond: median(rates),
    tokensPerCpuSecond: median(cpuRates),
    blasThreads: model.blas.threads,
    firstLoss,
    parameters: model.parameters.length,
  };
}

/** The seed-0 start weights both sides train from. */
export function initialModel(preset: LlamaPresetName): LlamaModel {
  return createLlamaModel({ config: llamaPresets[preset], blas: createBlas({ threads: 1 }), seed: 0 });
}
