/**
 * Masked cross-entropy that returns one loss per sequence: the mean negative log-likelihood of that
 * sequence's unmasked target tokens. The Stable Alignment objective combines these per-response means,
 * so the backward pass takes one gradient per sequence.
 */
import { TokenRangeError } from "../engine-errors.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";
import { kernelsFor } from "../tensor-memory.js";
import { softmaxRow } from "./row-softmax.js";

/**
 * Forward pass over logits [batch * sequence, vocabulary] and targets [batch * sequence] (a negative
 * target masks that position, e.g. prompt tokens). Writes sequenceLosses [batch] (mean NLL in nats; 0
 * for a sequence without targets) and tokenCounts [batch], and the softmax probabilities into
 * `probabilities` (default: `logits` itself, overwritten in place) for the backward pass.
 */
export function maskedCrossEntropyForward(options: {
  logits: Tensor;
  targets: Int32Array;
  batchSize: number;
  sequenceLosses: Float64Array;
  tokenCounts: Int32Array;
  probabilities?: Tensor;
}): void {
  const { logits, targets, batchSize, sequenceLosses, tokenCounts } = options;
  const probabilities = options.probabilities ?? logits;
  const [rows = 0, vocabularySize = 0] = logits.shape;
  assertShape(probabilities, logits.shape, "cross-entropy probabilities");
  assertLength(targets, rows, "cross-entropy targets");
  assertLength(sequenceLosses, batchSize, "cross-entropy sequence losses");
  assertLength(tokenCounts, batchSize, "cross-entropy token counts");
  const length = rows / batchSize;
  for (let sequence = 0; sequence < batchSize; sequence++) {
    let total = 0;
    let count = 0;
    for (let position = 0; position < length; position++) {
      const row = sequence * length + position;
      const target = targets[row] as number;
      if (target >= vocabularySize) {
        throw new TokenRangeError(`target ${target} at row ${row} is outside the vocabulary of ${vocabularySize}`);
      }
      if (target < 0) {
        continue;
      }
      const start = row * vocabularySize;
      const targetLogit = logits.data[start + target] as number;
      total += softmaxRow(logits.data, probabilities.data, start, vocabularySize) - targetLogit;
      count++;
    }
    sequenceLosses[sequence] = count === 0 ? 0 : total / count;
    tokenCounts[sequence] = count;
  }
}

/**
 * Backward pass: logitsGradient = sequenceLossGradients[s] / tokenCounts[s] * (p - onehot(target)) on
 * unmasked rows, 0 on masked rows. `logitsGradient` may be `probabilities` (in place).
 */
export function maskedCrossEntropyBackward(options: {
  probabilities: Tensor;
  targets: Int32Array;
  batchSize: number;
  tokenCounts: Int32Array;
  sequenceLossGradients: ArrayLike<number>;
  logitsGradient: Tensor;
}): void {
  const { probabilities, targets, batchSize, tokenCounts, sequenceLossGradients, logitsGradient } = options;
  const [rows = 0, vocabularySize = 0] = probabilities.shape;
  assertShape(logitsGradient, probabilities.shape, "cross-entropy logits gradient");
  assertLength(targets, rows, "cross-entropy targets");
  assertLength(tokenCounts, batchSize, "cross-entropy token counts");
  assertLength(sequenceLossGradients, batchSize, "cross-entropy sequence loss gradients");
  const length = rows / batchSize;
  const source = probabilities.data;
  const target = logitsGradient.data;
  // In place on wasm memory the row scaling runs as a SIMD kernel.
  const kernels = source === target ? kernelsFor(source) : undefined;
  for (let sequence = 0; sequence < batchSize; sequence++) {
    const count = tokenCounts[sequence] as number;
    const scale = count === 0 ? 0 : (sequenceLossGradients[sequence] as number) / count;
    for (let position = 0; position < length; position++) {
      const row = sequence * length + position;
      const start = row * vocabularySize;
      const token = targets[row] as number;
      if (token < 0) {
        target.fill(0, start, start + vocabularySize);
        continue;
      }
      if (kernels !== undefined) {
        kernels.scale(target.byteOffset + start * 4, vocabularySize, scale);
      } else {
        for (let index = start; index < start + vocabularySize; index++) {
          target[index] = (source[index] as number) * scale;
        }
      }
      target[start + token] = (target[start + token] as number) - scale;
    }
  }
}
