/**
 * AdamW as PyTorch implements it (decoupled weight decay, bias-corrected moments), over one flat
 * parameter array and its gradient array. Moments are float32, updated in place: no allocation per step.
 */
import { ConfigError } from "../../spec/errors.js";
import { elementwiseChunk, runKernels } from "../kernel-call.js";
import { assertLength } from "../tensor.js";
import { memoryOf } from "../tensor-memory.js";

/** A range of the flat parameter array, in elements. */
export interface ParameterRange {
  offset: number;
  length: number;
}

/** Optimizer state that checkpoints save and restore. */
export interface AdamWState {
  stepCount: number;
  firstMoment: Float32Array;
  secondMoment: Float32Array;
}

/** An AdamW optimizer bound to one parameter array and one gradient array of the same length. */
export interface AdamW {
  /** Steps taken so far (bias correction uses it). */
  readonly stepCount: number;
  /** Exponential average of gradients, same layout as the parameters. */
  readonly firstMoment: Float32Array;
  /** Exponential average of squared gradients, same layout as the parameters. */
  readonly secondMoment: Float32Array;
  /**
   * Updates the parameters from the current gradients. `learningRate` overrides the configured one
   * (schedules); `gradientScale` (default 1) multiplies every gradient first, so clipping needs no
   * separate pass over the gradients.
   */
  step(options?: { learningRate?: number; gradientScale?: number }): void;
  /** Replaces the state (restoring a checkpoint); the arrays are copied. */
  restore(state: AdamWState): void;
}

/**
 * Creates AdamW. Defaults are PyTorch's: learningRate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8,
 * weightDecay 0.01. `noDecay` lists ranges exempt from weight decay (commonly norm weights).
 */
export function createAdamW(options: {
  parameters: Float32Array;
  gradients: Float32Array;
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  noDecay?: readonly ParameterRange[];
}): AdamW {
  const {
    parameters,
    gradients,
    learningRate = 1e-3,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-8,
    weightDecay = 0.01,
    noDecay = [],
  } = options;
  assertLength(gradients, parameters.length, "AdamW gradients");
  for (const [field, value] of Object.entries({ learningRate, beta1, beta2, epsilon, weightDecay })) {
    if (!Number.isFinite(value) || value < 0 || ((field === "beta1" || field === "beta2") && value >= 1)) {
      throw new ConfigError(
        `AdamW ${field} must be finite, non-negative${field.startsWith("beta") ? " and < 1" : ""}; got ${value}`,
        {
          field,
        },
      );
    }
  }
  const decays = new Uint8Array(parameters.length).fill(1);
  for (const range of noDecay) {
    decays.fill(0, range.offset, range.offset + range.length);
  }
  // Runs of elements with the same decay setting, so the kernel sweeps each run in one call.
  const segments: { offset: number; length: number; decays: boolean }[] = [];
  for (let index = 0; index < decays.length; index++) {
    const last = segments[segments.length - 1];
    if (last !== undefined && last.decays === (decays[index] === 1)) {
      last.length++;
    } else {
      segments.push({ offset: index, length: 1, decays: decays[index] === 1 });
    }
  }
  // Moments come from the parameters' memory (any of its wasm memories), so the SIMD kernel runs on them.
  const memory = memoryOf(parameters);
  const firstMoment = memory?.allocate(parameters.length) ?? new Float32Array(parameters.length);
  const secondMoment = memory?.allocate(parameters.length) ?? new Float32Array(parameters.length);
  let stepCount = 0;
  return {
    get stepCount() {
      return stepCount;
    },
    firstMoment,
    secondMoment,
    step(stepOptions = {}) {
      const rate = stepOptions.learningRate ?? learningRate;
      const gradientScale = stepOptions.gradientScale ?? 1;
      stepCount++;
      const stepSize = rate / (1 - beta1 ** stepCount);
      const inverseSecondCorrection = 1 / Math.sqrt(1 - beta2 ** stepCount);
      const decayFactor = 1 - rate * weightDecay;
      if (memory !== undefined) {
        const chunk = elementwiseChunk([parameters, gradients, firstMoment, secondMoment]);
        // In chunks, so the moments may live in another wasm memory than the parameters (models past
        // 4 GiB): each chunk's operands from another memory are copied through the staging area.
        for (const segment of segments) {
          for (let offset = segment.offset; offset < segment.offset + segment.length; offset += chunk) {
            const end = Math.min(offset + chunk, segment.offset + segment.length);
            const parameterChunk = parameters.subarray(offset, end);
            const gradientChunk = gradients.subarray(offset, end);
            const firstChunk = firstMoment.subarray(offset, end);
            const secondChunk = secondMoment.subarray(offset, end);
            runKernels({
              operation: "adamw",
              inputs: [gradientChunk],
              outputs: [parameterChunk, firstChunk, secondChunk],
              run: ({ kernels, address }) =>
                kernels.adamw(
                  address(parameterChunk),
                  address(gradientChunk),
                  address(firstChunk),
                  address(secondChunk),
                  end - offset,
                  beta1,
                  beta2,
                  stepSize,
                  inverseSecondCorrection,
                  epsilon,
                  segment.decays ? decayFactor : 1,
                  gradientScale,
                ),
            });
          }
        }
        return;
      }
      const keep1 = beta1;
      const add1 = 1 - beta1;
      const keep2 = beta2;
      const add2 = 1 - beta2;
      for (let index = 0; index < parameters.length; index++) {
        const gradient = (gradients[index] as number) * gradientScale;
        const first = keep1 * (firstMoment[index] as number) + add1 * gradient;
        const second = keep2 * (secondMoment[index] as number) + add2 * gradient * gradient;
        firstMoment[index] = first;
        secondMoment[index] = second;
        const decayed =
          decays[index] === 1 ? (parameters[index] as number) * decayFactor : (parameters[index] as number);
        parameters[index] = decayed - (stepSize * first) / (Math.sqrt(second) * inverseSecondCorrection + epsilon);
      }
    },
    restore(state) {
      assertLength(state.firstMoment, parameters.length, "AdamW first moment");
      assertLength(state.secondMoment, parameters.length, "AdamW second moment");
      firstMoment.set(state.firstMoment);
      secondMoment.set(state.secondMoment);
      stepCount = state.stepCount;
    },
  };
}
