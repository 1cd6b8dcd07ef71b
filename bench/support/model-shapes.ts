/**
 * Model shapes the memory and train-scale benchmarks build with random weights, and one training
 * step on a fixed token sequence.
 */
import { createLlamaTrainer, type LlamaConfig, type LlamaModel } from "../../src/model/llama/index.js";

/** SmolLM2-135M: 30 layers, d 576, 9 heads, 3 key/value heads, ffn 1536, vocabulary 49152, tied. */
const SMOLLM2_135M: LlamaConfig = {
  hiddenSize: 576,
  layers: 30,
  heads: 9,
  kvHeads: 3,
  intermediateSize: 1536,
  vocabularySize: 49152,
  ropeTheta: 100000,
  rmsNormEpsilon: 1e-5,
  tieWordEmbeddings: true,
  maxPositions: 8192,
};

/** Qwen2.5-0.5B: 24 layers, d 896, 14 heads, 2 key/value heads, ffn 4864, vocabulary 151936, tied, q/k/v biases. */
const QWEN25_05B: LlamaConfig = {
  hiddenSize: 896,
  layers: 24,
  heads: 14,
  kvHeads: 2,
  intermediateSize: 4864,
  vocabularySize: 151936,
  ropeTheta: 1000000,
  rmsNormEpsilon: 1e-6,
  tieWordEmbeddings: true,
  maxPositions: 32768,
  queryKeyValueBias: true,
};

/** The shapes by their `--shape` name. */
export const modelShapes = { "smollm2-135m": SMOLLM2_135M, "qwen2.5-0.5b": QWEN25_05B } as const;
export type ModelShapeName = keyof typeof modelShapes;

/** The shape named `name`, or a RangeError listing the names. */
export function modelShape(name: string): LlamaConfig {
  const shape = (modelShapes as Record<string, LlamaConfig>)[name];
  if (shape === undefined) {
    throw new RangeError(`--shape must be one of ${Object.keys(modelShapes).join(", ")}, got ${name}`);
  }
  return shape;
}

/** Tokens (a fixed arithmetic sequence) and next-token targets for one sequence of `length`. */
export function benchSequence(options: { length: number; vocabularySize: number }): {
  tokens: Int32Array;
  targets: Int32Array;
} {
  const { length, vocabularySize } = options;
  const tokens = new Int32Array(length);
  for (let index = 0; index < length; index++) tokens[index] = (index * 7919 + 13) % vocabularySize;
  const targets = new Int32Array(length);
  targets.set(tokens.subarray(1));
  targets[length - 1] = -1;
  return { tokens, targets };
}

/**
 * Runs `steps` training steps (forward, backward, clipping, AdamW) of `model` on one sequence of
 * `sequenceLength` tokens; returns each step's seconds and the last loss and gradient norm.
 */
export function timeTrainingSteps(options: { model: LlamaModel; sequenceLength: number; steps: number }): {
  seconds: number[];
  loss: number;
  gradientNorm: number;
} {
  const { model, sequenceLength, steps } = options;
  const trainer = createLlamaTrainer({ model });
  const { tokens, targets } = benchSequence({ length: sequenceLength, vocabularySize: model.config.vocabularySize });
  const seconds: number[] = [];
  let loss = Number.NaN;
  let gradientNorm = Number.NaN;
  for (let step = 0; step < steps; step++) {
    const started = performance.now();
    const result = trainer.step({ tokens, targets, batchSize: 1, sequenceLength });
    seconds.push((performance.now() - started) / 1000);
    loss = result.loss;
    gradientNorm = result.gradientNorm;
  }
  return { seconds, loss, gradientNorm };
}
