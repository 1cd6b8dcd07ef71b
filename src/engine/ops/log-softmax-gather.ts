/**
 * Log-probability of each target token: log_softmax(logits)[row, target[row]]. Used to score responses
 * and by sequence-level objectives (DPO, RRHF) that need gradients through summed log-probabilities.
 */
import { TokenRangeError } from "../engine-errors.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";
import { kernelsFor } from "../tensor-memory.js";
import { softmaxRow } from "./row-softmax.js";

/**
 * output[row] = log p(target[row]) under softmax(logits[row]) for logits [rows, vocabulary]; 0 where
 * the target is negative (masked). Writes the softmax into `probabilities` (default: `logits`, in
 * place) for the backward pass.
 */
export function logSoftmaxGatherForward(options: {
  logits: Tensor;
  targets: Int32Array;
  output: Float32Array;
  probabilities?: Tensor;
}): void {
  const { logits, targets, output } = options;
  const probabilities = options.probabilities ?? logits;
  const [rows = 0, vocabularySize = 0] = logits.shape;
  assertShape(probabilities, logits.shape, "log-softmax probabilities");
  assertLength(targets, rows, "log-softmax targets");
  assertLength(output, rows, "log-softmax output");
  for (let row = 0; row < rows; row++) {
    const target = targets[row] as number;
    if (target >= vocabularySize) {
      throw new TokenRangeError(`target ${target} at row ${row} is outside the vocabulary of ${vocabularySize}`);
    }
    if (target < 0) {
      output[row] = 0;
      continue;
    }
    const start = row * vocabularySize;
    const targetLogit = logits.data[start + target] as number;
    output[row] = targetLogit - softmaxRow(logits.data, probabilities.data, start, vocabularySize);
  }
}

/**
 * Backward pass: logitsGradient[row] = outputGradient[row] * (onehot(target) - p) on unmasked rows, 0
 * on masked rows. `logitsGradient` may be `probabilities` (in place).
 */
export function logSoftmaxGatherBackward(options: {
  probabilities: Tensor;
  targets: Int32Array;
  outputGradient: Float32Array;
  logitsGradient: Tensor;
}): void {
  const { probabilities, targets, outputGradient, logitsGradient } = options;
  const [rows = 0, vocabularySize = 0] = probabilities.shape;
  assertShape(logitsGradient, probabilities.shape, "log-softmax logits gradient");
  assertLength(targets, rows, "log-softmax targets");
  assertLength(outputGradient, rows, "log-softmax output gradient");
  const source = probabilities.data;
  const target = logitsGradient.data;
  // In place on wasm memory the row scaling runs as a SIMD kernel.
  const kernels = source === target ? kernelsFor(source) : undefined;
  for (let row = 0; row < rows; row++) {
    const start = row * vocabularySize;
    const token = targets[row] as number;
    if (token < 0) {
      target.fill(0, start, start + vocabularySize);
      continue;
    }
    const scale = outputGradient[row] as number;
    if (kernels !== undefined) {
      kernels.scale(target.byteOffset + start * 4, vocabularySize, -scale);
    } else {
      for (let index = start; index < start + vocabularySize; index++) {
        target[index] = -(source[index] as number) * scale;
      }
    }
    target[start + token] = (target[start + token] as number) + scale;
  }
}
