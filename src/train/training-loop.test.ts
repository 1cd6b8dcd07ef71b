import { describe, expect, it } from "vitest";
import { createAdamW, createBlas, createTensorMemory } from "../engine/index.js";
import { testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { createLlamaModel, type LlamaModel } from "../model/llama/index.js";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { prepareTrainingData, type TrainingPrompt } from "./training-examples.js";
import {
  batchResponses,
  computeReferenceLogProbabilities,
  evaluateObjective,
  forwardPrompt,
  runTraining,
  type StepMetrics,
  trainingOrder,
} from "./training-loop.js";
import { defaultTrainingSettings, type TrainingLoss, type TrainingSettings } from "./training-settings.js";

const tokenizer = testTokenizer();
const config = tinyConfig({ maxPositions: 64 });
const blas = createBlas({ backend: "typescript" });
const maxLength = 48;

function newModel(seed = 3): LlamaModel {
  return createLlamaModel({ config, blas, memory: createTensorMemory(), seed, initializerRange: 0.1 });
}

const rows: AlignmentExample[] = [
  {
    query: "The quick brown fox",
    responses: [" jumps over", " sleeps", " runs far"],
    scores: [7, 1, 4],
    models: ["a", "a", "a"],
    kind: "imitation",
  },
  {
    query: "A lazy dog",
    responses: [" barks", " naps all day"],
    scores: [2, 6],
    models: ["a", "a"],
    kind: "imitation",
  },
  {
    query: "Numbers: 1234",
    responses: [" and more", " or less"],
    scores: [5, 5],
    models: ["a", "a"],
    kind: "self-critic",
  },
  { query: "café time", responses: [" yes"], scores: [6], models: ["a"], kind: "realignment" },
];

function prompts(): TrainingPrompt[] {
  return prepareTrainingData({
    rows: rows.map((example, index) => ({ example, line: index + 1 })),
    file: "rows.json",
    tokenizer,
    format: "verbatim",
    maxLength,
    ratingScale: 7,
    evalSplit: 0,
    seed: 0,
  }).train;
}

function settings(loss: TrainingLoss, overrides: Partial<TrainingSettings> = {}): TrainingSettings {
  return {
    ...defaultTrainingSettings({ start: "init" }),
    loss,
    gradientAccumulation: 2,
    epochs: 3,
    warmup: 0,
    ...overrides,
  };
}

/** The objective's loss on one prompt at the model's current weights (forward only). */
function objectiveLoss(
  model: LlamaModel,
  prompt: TrainingPrompt,
  chosen: TrainingSettings,
  references?: number[],
): number {
  const indices = batchResponses({ prompt, settings: chosen, position: 0 });
  const { responses } = forwardPrompt({ model, prompt, indices, maxLength });
  const value = evaluateObjective({
    settings: chosen,
    responses,
    references: references && indices.map((index) => references[index] as number),
  });
  if ("skip" in value) throw new Error(value.skip);
  return value.loss;
}

describe("objectives through the tiny model", () => {
  for (const loss of ["stable-alignment", "sft", "dpo", "rrhf"] as const) {
    it(`${loss}: parameter gradients match finite differences`, () => {
      const model = newModel();
      const prompt = prompts()[0] as TrainingPrompt;
      const chosen = settings(loss, { ratio: 1, beta: 0.5 });
      // DPO's reference: a different model's sums, so the pair's margin is not zero.
      const references =
        loss === "dpo"
          ? computeReferenceLogProbabilities({ model: newModel(9), prompts: [prompt], maxLength })[0]
          : undefined;
      model.zeroGradients();
      const indices = batchResponses({ prompt, settings: chosen, position: 0 });
      const { responses } = forwardPrompt({ model, prompt, indices, maxLength });
      const value = evaluateObjective({
        settings: chosen,
        responses,
        references: references && indices.map((index) => references[index] as number),
      });
      if ("skip" in value) throw new Error(value.skip);
      model.backwardSequenceLosses({ lossGradients: value.gradients });
      const analytic = Float64Array.from(model.gradients);
      // The parameters with the largest gradients: finite differences are most precise there in float32.
      const probes = Array.from(analytic.keys())
        .sort((a, b) => Math.abs(analytic[b] as number) - Math.abs(analytic[a] as number))
        .slice(0, 6);
      for (const index of probes) {
        const original = model.parameters[index] as number;
        const step = 1e-2;
        model.parameters[index] = original + step;
        const plus = objectiveLoss(model, prompt, chosen, references);
        model.parameters[index] = original - step;
        const minus = objectiveLoss(model, prompt, chosen, references);
        model.parameters[index] = original;
        const numeric = (plus - minus) / (2 * step);
        expect(Math.abs(numeric - (analytic[index] as number))).toBeLessThan(
          2e-2 * Math.abs(analytic[index] as number) + 1e-4,
        );
      }
    });
  }
});

describe("runTraining", () => {
  it("lowers the loss, counts skips, and orders stages one after another", async () => {
    const model = newModel();
    const optimizer = createAdamW({
      parameters: model.parameters,
      gradients: model.gradients,
      learningRate: 1e-2,
      weightDecay: 0,
    });
    const steps: StepMetrics[] = [];
    const chosen = settings("dpo", { epochs: 20, learningRate: 1e-2 });
    const data = prompts();
    const references = computeReferenceLogProbabilities({ model, prompts: data, maxLength });
    await runTraining({
      model,
      optimizer,
      settings: chosen,
      prompts: data,
      heldOut: [],
      references,
      cursor: { step: 0, consumed: 0 },
      maxLength,
      onStep: (metrics) => steps.push(metrics),
    });
    expect(steps).toHaveLength(40);
    expect((steps.at(-1) as StepMetrics).loss).toBeLessThan((steps[0] as StepMetrics).loss * 0.5);
    const skips = steps.reduce(
      (total, step) => total + (step.skipped["single response"] ?? 0) + (step.skipped["ratings all tie"] ?? 0),
      0,
    );
    expect(skips).toBe(40);
    const staged = trainingOrder({
      prompts: data,
      settings: settings("sft", { stages: ["realignment", "imitation"], epochs: 2 }),
    });
    expect(staged.map((index) => data[index]?.kind)).toEqual([
      "realignment",
      "realignment",
      "imitation",
      "imitation",
      "imitation",
      "imitation",
    ]);
  });

  it("continues bit for bit from a cursor with restored weights and moments", async () => {
    const chosen = settings("stable-alignment", { numComp: 2, epochs: 4 });
    const run = async (
      model: LlamaModel,
      optimizer: ReturnType<typeof createAdamW>,
      from: { step: number; consumed: number },
      until?: number,
    ) => {
      const losses: number[] = [];
      const controller = new AbortController();
      const cursor = await runTraining({
        model,
        optimizer,
        settings: chosen,
        prompts: prompts(),
        heldOut: [],
        cursor: from,
        maxLength,
        signal: controller.signal,
        onStep: (metrics) => {
          losses.push(metrics.loss);
          if (metrics.step === until) controller.abort();
        },
      });
      return { losses, cursor };
    };
    const whole = newModel();
    const straight = await run(
      whole,
      createAdamW({ parameters: whole.parameters, gradients: whole.gradients, learningRate: 1e-3, weightDecay: 0 }),
      { step: 0, consumed: 0 },
    );
    const first = newModel();
    const firstOptimizer = createAdamW({
      parameters: first.parameters,
      gradients: first.gradients,
      learningRate: 1e-3,
      weightDecay: 0,
    });
    const head = await run(first, firstOptimizer, { step: 0, consumed: 0 }, 3);
    expect(head.cursor).toEqual({ step: 3, consumed: 6 });
    const second = newModel(99);
    second.parameters.set(first.parameters);
    const secondOptimizer = createAdamW({
      parameters: second.parameters,
      gradients: second.gradients,
      learningRate: 1e-3,
      weightDecay: 0,
    });
    secondOptimizer.restore({
      stepCount: firstOptimizer.stepCount,
      firstMoment: firstOptimizer.firstMoment,
      secondMoment: firstOptimizer.secondMoment,
    });
    const tail = await run(second, secondOptimizer, head.cursor);
    expect([...head.losses, ...tail.losses]).toEqual(straight.losses);
  });
});
