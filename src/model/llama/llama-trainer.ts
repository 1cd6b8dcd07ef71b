/**
 * One optimizer step for plain next-token training: forward, token-weighted mean cross-entropy,
 * backward, global-norm clipping, AdamW. Objectives that weight sequences differently (Stable
 * Alignment, DPO) call the model's loss heads and the optimizer themselves.
 */
import { type AdamW, createAdamW, gradientNorm } from "../../engine/index.js";
import type { LlamaModel, TargetBatch } from "./llama-model.js";
import { noDecaySpans } from "./llama-parameters.js";

/** What one step measured. */
export interface TrainStepResult {
  /** Mean NLL over all unmasked targets of the batch (nats), before the update. */
  loss: number;
  /** Global gradient L2 norm before clipping. */
  gradientNorm: number;
  /** Unmasked targets in the batch. */
  targetCount: number;
}

/** A model bound to an AdamW optimizer. */
export interface LlamaTrainer {
  readonly model: LlamaModel;
  readonly optimizer: AdamW;
  /** One step on one batch; `learningRate` overrides the configured rate (schedules). */
  step(batch: TargetBatch & { learningRate?: number }): TrainStepResult;
}

/**
 * Creates a trainer. Defaults: learningRate 3e-4, weightDecay 0.01 (norm weights exempt), betas 0.9 /
 * 0.999, epsilon 1e-8, maxGradientNorm 1 (Infinity disables clipping).
 */
export function createLlamaTrainer(options: {
  model: LlamaModel;
  learningRate?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  maxGradientNorm?: number;
}): LlamaTrainer {
  const {
    model,
    maxGradientNorm = 1,
    learningRate = 3e-4,
    weightDecay = 0.01,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-8,
  } = options;
  const optimizer = createAdamW({
    // What trains: every weight, or only the adapters of a LoRA model.
    parameters: model.trainable.parameters,
    gradients: model.trainable.gradients,
    learningRate,
    weightDecay,
    beta1,
    beta2,
    epsilon,
    noDecay: noDecaySpans(model.trainable.layout),
  });
  let lossGradients = new Float64Array(0);
  return {
    model,
    optimizer,
    step(batch) {
      model.zeroGradients();
      const { losses, tokenCounts } = model.sequenceLosses(batch);
      if (lossGradients.length !== batch.batchSize) {
        lossGradients = new Float64Array(batch.batchSize);
      }
      let targetCount = 0;
      for (const count of tokenCounts) {
        targetCount += count;
      }
      let loss = 0;
      for (let sequence = 0; sequence < batch.batchSize; sequence++) {
        // Weighting each sequence's mean by its share of targets gives the mean over all targets.
        const weight = targetCount === 0 ? 0 : (tokenCounts[sequence] as number) / targetCount;
        lossGradients[sequence] = weight;
        loss += weight * (losses[sequence] as number);
      }
      model.backwardSequenceLosses({ lossGradients });
      // Clipping as clip_grad_norm_ does it, folded into the optimizer's pass over the gradients.
      const norm = gradientNorm(model.gradients);
      const gradientScale = Math.min(1, maxGradientNorm / (norm + 1e-6));
      optimizer.step({
        gradientScale,
        ...(batch.learningRate === undefined ? {} : { learningRate: batch.learningRate }),
      });
      return { loss, gradientNorm: norm, targetCount };
    },
  };
}
