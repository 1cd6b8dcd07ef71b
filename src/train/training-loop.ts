/**
 * The trainer: one prompt per micro-batch (its sampled responses in one batch), the objective's
 * per-response gradients backpropagated through the model, gradients summed over
 * `gradientAccumulation` prompts, then global-norm clipping and one AdamW step on the scheduled
 * learning rate. Every random choice (epoch order, sampled responses) is derived from the seed and the
 * position in the run, so a resumed run continues the exact trajectory of an uninterrupted one.
 */
import { bestResponseIndex } from "../data/alignment-example-reader.js";
import {
  type AdamW,
  createRandom,
  deriveSeed,
  gradientNorm,
  sampleWithoutReplacement,
  shuffle,
} from "../engine/index.js";
import type { LlamaModel } from "../model/llama/index.js";
import { TrainingDivergedError } from "../spec/errors.js";
import { learningRateAt } from "./learning-rate-schedule.js";
import { dpoObjective, preferencePairs } from "./objectives/dpo-objective.js";
import type { ObjectiveSkip, ObjectiveValue, RatedResponse } from "./objectives/rated-response.js";
import { rrhfObjective } from "./objectives/rrhf-objective.js";
import { sftObjective } from "./objectives/sft-objective.js";
import { stableAlignmentObjective } from "./objectives/stable-alignment-objective.js";
import { promptBatch } from "./prompt-batch.js";
import type { TrainingPrompt } from "./training-examples.js";
import type { TrainingSettings } from "./training-settings.js";

/** Reference (start-model) summed log-likelihood of every response: `[prompt][response]`, for DPO. */
export type ReferenceLogProbabilities = readonly (readonly number[])[];

/** Where a run stands: optimizer steps taken and prompts consumed (the data cursor). */
export interface TrainingCursor {
  step: number;
  consumed: number;
}

/** What one optimizer step measured (one line of metrics.jsonl). */
export interface StepMetrics {
  step: number;
  totalSteps: number;
  /** Mean objective loss over the step's prompts (nats). */
  loss: number;
  /** Means of the objective's named terms (sft, penalty, dpo, rewardMargin, rewardAccuracy, ranking). */
  terms: Record<string, number>;
  learningRate: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** Prompts that contributed; skipped ones are counted in `skipped`. */
  prompts: number;
  /** Prompts this step skipped, by reason. */
  skipped: Record<string, number>;
  /** Sequence tokens (prompt + response, unpadded) processed per second of this step. */
  tokensPerSecond: number;
}

/** Held-out measurements. */
export interface EvaluationMetrics {
  step: number;
  /** Mean objective loss over held-out prompts. */
  loss: number;
  /** Share of held-out prompts (with two distinct ratings) whose best response has a lower mean NLL than the worst. */
  preferenceAccuracy: number;
  /** Outcomes behind `preferenceAccuracy` (1, 0, or 0.5 on a tie), for intervals. */
  preferenceOutcomes: number[];
  prompts: number;
}

/** The micro-batch order of a whole run: prompt indices, stage by stage (or the mixture), epoch by epoch. */
export function trainingOrder({
  prompts,
  settings,
}: {
  prompts: readonly TrainingPrompt[];
  settings: TrainingSettings;
}): number[] {
  const groups: number[][] =
    settings.stages === undefined
      ? [prompts.map((_, index) => index)]
      : settings.stages.map((stage) => prompts.flatMap((prompt, index) => (prompt.kind === stage ? [index] : [])));
  const order: number[] = [];
  for (const [group, members] of groups.entries()) {
    for (let epoch = 0; epoch < settings.epochs; epoch += 1) {
      const random = createRandom({ seed: deriveSeed(settings.seed, "order", group, epoch) });
      const shuffled = shuffle({ items: members, random });
      order.push(...shuffled);
    }
  }
  return order;
}

/** Optimizer steps in a run of `microBatches` prompts. */
export function totalStepsOf({ microBatches, settings }: { microBatches: number; settings: TrainingSettings }): number {
  return Math.ceil(microBatches / settings.gradientAccumulation);
}

/**
 * Which responses of a prompt enter its batch: Stable Alignment samples up to `numComp` (seeded by the
 * micro-batch's position), SFT only the best, DPO its pair(s), RRHF all.
 */
export function batchResponses({
  prompt,
  settings,
  position,
}: {
  prompt: TrainingPrompt;
  settings: TrainingSettings;
  position: number;
}): number[] {
  const all = prompt.responses.map((_, index) => index);
  if (settings.loss === "sft") return [bestResponseIndex(prompt.responses.map((response) => response.rating))];
  if (settings.loss === "stable-alignment" && all.length > settings.numComp) {
    const random = createRandom({ seed: deriveSeed(settings.seed, "sample", position) });
    return sampleWithoutReplacement({ items: all, count: settings.numComp, random }).sort((a, b) => a - b);
  }
  if (settings.loss === "dpo") {
    const rated = prompt.responses.map((response) => ({ rating: response.rating, meanNll: 0, tokenCount: 1 }));
    const pairs = preferencePairs({ responses: rated, pairs: settings.dpoPairs });
    return [...new Set(pairs.flat())].sort((a, b) => a - b);
  }
  return all;
}

/** The objective on one prompt's batch; `references` are the batch responses' reference sums (DPO). */
export function evaluateObjective({
  settings,
  responses,
  references,
}: {
  settings: TrainingSettings;
  responses: RatedResponse[];
  references: readonly number[] | undefined;
}): ObjectiveValue | ObjectiveSkip {
  switch (settings.loss) {
    case "sft":
      return sftObjective({ responses });
    case "stable-alignment":
      return stableAlignmentObjective({ responses, ...settings });
    case "rrhf":
      return rrhfObjective({ responses });
    case "dpo": {
      if (references === undefined) throw new Error("dpo needs reference log-likelihoods");
      const referenced = responses.map((response, index) => ({
        ...response,
        referenceLogProbability: references[index] as number,
      }));
      return dpoObjective({
        responses: referenced,
        beta: settings.beta,
        labelSmoothing: settings.labelSmoothing,
        pairs: settings.dpoPairs,
      });
    }
  }
}

/**
 * Forward one prompt's batch; returns the rated responses the objective reads and the batch's real
 * token count. `dropoutSeed` (default none: no dropout) seeds LoRA dropout in training passes.
 */
export function forwardPrompt({
  model,
  prompt,
  indices,
  maxLength,
  dropoutSeed,
}: {
  model: LlamaModel;
  prompt: TrainingPrompt;
  indices: readonly number[];
  maxLength: number;
  dropoutSeed?: number;
}): { responses: RatedResponse[]; tokens: number } {
  const batch = {
    ...promptBatch({ prompt, responses: indices, maxLength }),
    ...(dropoutSeed === undefined ? {} : { dropoutSeed }),
  };
  const { losses, tokenCounts } = model.sequenceLosses(batch);
  let tokens = 0;
  const responses = indices.map((index, row) => {
    const response = prompt.responses[index];
    if (response === undefined) throw new RangeError(`no response ${index}`);
    tokens += Math.min(maxLength, prompt.promptTokens.length + response.tokens.length);
    return { rating: response.rating, meanNll: losses[row] as number, tokenCount: tokenCounts[row] as number };
  });
  return { responses, tokens };
}

/** The start model's summed log-likelihood of every response, computed once before DPO training. */
export function computeReferenceLogProbabilities({
  model,
  prompts,
  maxLength,
}: {
  model: LlamaModel;
  prompts: readonly TrainingPrompt[];
  maxLength: number;
}): number[][] {
  return prompts.map((prompt) => {
    const { responses } = forwardPrompt({
      model,
      prompt,
      indices: prompt.responses.map((_, index) => index),
      maxLength,
    });
    return responses.map((response) => -response.meanNll * response.tokenCount);
  });
}

/** Runs training from `cursor` to the end (or until `signal` aborts between steps). */
export async function runTraining({
  model,
  optimizer,
  settings,
  prompts,
  heldOut,
  references,
  heldOutReferences,
  cursor,
  maxLength,
  onStep,
  onEvaluation,
  onCheckpoint,
  signal,
}: {
  model: LlamaModel;
  optimizer: AdamW;
  settings: TrainingSettings;
  prompts: readonly TrainingPrompt[];
  heldOut: readonly TrainingPrompt[];
  references?: ReferenceLogProbabilities;
  heldOutReferences?: ReferenceLogProbabilities;
  cursor: TrainingCursor;
  /** Tokens per sequence (the settings' maxLength, capped at the model's context). */
  maxLength: number;
  onStep?: (metrics: StepMetrics) => void;
  onEvaluation?: (metrics: EvaluationMetrics) => void;
  /** Called after a step whose number is a multiple of `saveEvery`, and after the last step. */
  onCheckpoint?: (cursor: TrainingCursor) => Promise<void>;
  signal?: AbortSignal;
}): Promise<TrainingCursor> {
  const order = trainingOrder({ prompts, settings });
  const totalSteps = totalStepsOf({ microBatches: order.length, settings });
  let { step, consumed } = cursor;
  while (step < totalSteps) {
    if (signal?.aborted) break;
    const started = performance.now();
    model.zeroGradients();
    const end = Math.min(consumed + settings.gradientAccumulation, order.length);
    let contributing = 0;
    let lossSum = 0;
    let tokens = 0;
    const termSums: Record<string, number> = {};
    const skipped: Record<string, number> = {};
    const sourceIds: string[] = [];
    for (let position = consumed; position < end; position += 1) {
      const promptIndex = order[position] as number;
      const prompt = prompts[promptIndex] as TrainingPrompt;
      sourceIds.push(prompt.sourceId);
      const indices = batchResponses({ prompt, settings, position });
      if (settings.loss !== "stable-alignment" && settings.loss !== "sft" && indices.length < 2) {
        const reason = prompt.responses.length < 2 ? "single response" : "ratings all tie";
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        continue;
      }
      // LoRA dropout masks derive from the seed and the position, so a resume replays them exactly.
      const dropoutSeed = deriveSeed(settings.seed, "dropout", position);
      const forward = forwardPrompt({ model, prompt, indices, maxLength, dropoutSeed });
      const value = evaluateObjective({
        settings,
        responses: forward.responses,
        references:
          references === undefined ? undefined : indices.map((index) => references[promptIndex]?.[index] as number),
      });
      if ("skip" in value) {
        skipped[value.skip] = (skipped[value.skip] ?? 0) + 1;
        continue;
      }
      if (!Number.isFinite(value.loss)) throw new TrainingDivergedError(step + 1, sourceIds);
      model.backwardSequenceLosses({ lossGradients: value.gradients });
      contributing += 1;
      lossSum += value.loss;
      tokens += forward.tokens;
      for (const [name, term] of Object.entries(value.terms)) termSums[name] = (termSums[name] ?? 0) + term;
    }
    const learningRate = learningRateAt({ step, totalSteps, peak: settings.learningRate, warmup: settings.warmup });
    let norm = 0;
    if (contributing > 0) {
      // Gradients were summed over the step's prompts: the mean is their sum / contributing.
      norm = gradientNorm(model.gradients) / contributing;
      if (!Number.isFinite(norm)) throw new TrainingDivergedError(step + 1, sourceIds);
      const clip = Math.min(1, settings.maxGradientNorm / (norm + 1e-6));
      optimizer.step({ learningRate, gradientScale: clip / contributing });
    }
    step += 1;
    consumed = end;
    const terms: Record<string, number> = {};
    for (const [name, sum] of Object.entries(termSums)) terms[name] = sum / contributing;
    const seconds = (performance.now() - started) / 1000;
    onStep?.({
      step,
      totalSteps,
      loss: contributing === 0 ? Number.NaN : lossSum / contributing,
      terms,
      learningRate,
      gradientNorm: norm,
      prompts: contributing,
      skipped,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
    });
    const last = step === totalSteps;
    if (
      onEvaluation !== undefined &&
      heldOut.length > 0 &&
      ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || last)
    ) {
      onEvaluation(evaluateHeldOut({ model, settings, heldOut, references: heldOutReferences, step, maxLength }));
    }
    if (onCheckpoint !== undefined && ((settings.saveEvery > 0 && step % settings.saveEvery === 0) || last)) {
      await onCheckpoint({ step, consumed });
    }
    // Let progress output and signals through between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { step, consumed };
}

/** Held-out loss and preference accuracy; forward passes only, the trajectory is untouched. */
export function evaluateHeldOut({
  model,
  settings,
  heldOut,
  references,
  step,
  maxLength,
}: {
  model: LlamaModel;
  settings: TrainingSettings;
  heldOut: readonly TrainingPrompt[];
  references: ReferenceLogProbabilities | undefined;
  step: number;
  maxLength: number;
}): EvaluationMetrics {
  let lossSum = 0;
  let counted = 0;
  const preferenceOutcomes: number[] = [];
  for (const [promptIndex, prompt] of heldOut.entries()) {
    const all = prompt.responses.map((_, index) => index);
    const forward = forwardPrompt({ model, prompt, indices: all, maxLength });
    const ratings = forward.responses.map((response) => response.rating);
    const best = ratings.indexOf(Math.max(...ratings));
    const worst = ratings.indexOf(Math.min(...ratings));
    if ((ratings[best] as number) > (ratings[worst] as number)) {
      const bestNll = forward.responses[best]?.meanNll as number;
      const worstNll = forward.responses[worst]?.meanNll as number;
      preferenceOutcomes.push(bestNll < worstNll ? 1 : bestNll > worstNll ? 0 : 0.5);
    }
    const indices = batchResponses({ prompt, settings, position: -1 - promptIndex });
    const value = evaluateObjective({
      settings,
      responses: indices.map((index) => forward.responses[index] as RatedResponse),
      references:
        references === undefined ? undefined : indices.map((index) => references[promptIndex]?.[index] as number),
    });
    if ("skip" in value) continue;
    lossSum += value.loss;
    counted += 1;
  }
  const accuracy =
    preferenceOutcomes.length === 0
      ? Number.NaN
      : preferenceOutcomes.reduce((sum, value) => sum + value, 0) / preferenceOutcomes.length;
  return {
    step,
    loss: counted === 0 ? Number.NaN : lossSum / counted,
    preferenceAccuracy: accuracy,
    preferenceOutcomes,
    prompts: counted,
  };
}
