/**
 * The output head and masked cross-entropy in one op, over the vocabulary in chunks: logits for
 * `chunkSize` vocabulary entries at a time (rows x chunkSize floats of scratch) instead of the full
 * rows x vocabulary matrix, which at a 150k-token vocabulary and 512 positions alone is 311 MB (and
 * its gradient as much again). Forward keeps one log-sum-exp per row; backward recomputes each
 * chunk's logits and accumulates the hidden-state and head-weight gradients chunk by chunk. Same
 * results as matmul + maskedCrossEntropyForward/Backward up to float32 rounding.
 */
import type { Blas } from "../blas.js";
import { ShapeError, TokenRangeError } from "../engine-errors.js";
import { runKernels } from "../kernel-call.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";
import { softmaxRow } from "./row-softmax.js";

/** What forward and backward share: the inputs, the chunk scratch and the saved per-row log-sum-exp. */
export interface ChunkedCrossEntropyState {
  blas: Blas;
  /** Final hidden states [batch * sequence, d] (after the last norm). */
  hidden: Tensor;
  /** Output head weight [vocabulary, d] (the tied embeddings or lm_head), Hugging Face layout. */
  weight: Tensor;
  /** Target token per row; negative masks the row. */
  targets: Int32Array;
  batchSize: number;
  /** Scratch of rows * chunkSize floats (in tensor memory, so the softmax kernels run on it). */
  scratch: Float32Array;
  /** Vocabulary entries per chunk. */
  chunkSize: number;
  /** Written by forward: log-sum-exp of each row's logits (0 on masked rows). */
  logSumExp: Float64Array;
}

function checkState(state: ChunkedCrossEntropyState): { rows: number; dimension: number; vocabularySize: number } {
  const { hidden, weight, targets, scratch, chunkSize, logSumExp } = state;
  const [rows = 0, dimension = 0] = hidden.shape;
  const [vocabularySize = 0] = weight.shape;
  assertShape(weight, [vocabularySize, dimension], "chunked cross-entropy head weight");
  assertLength(targets, rows, "chunked cross-entropy targets");
  assertLength(logSumExp, rows, "chunked cross-entropy logSumExp");
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new ShapeError(`chunked cross-entropy: chunkSize must be a positive integer, got ${chunkSize}`);
  }
  if (scratch.length < rows * Math.min(chunkSize, vocabularySize)) {
    throw new ShapeError(
      `chunked cross-entropy: scratch holds ${scratch.length} floats, needs rows x chunkSize = ${rows * Math.min(chunkSize, vocabularySize)}`,
    );
  }
  return { rows, dimension, vocabularySize };
}

/** scratch [rows, width] = hidden x weight[start : start + width]^T. */
function chunkLogits(state: ChunkedCrossEntropyState, start: number, width: number): void {
  const { blas, hidden, weight, scratch } = state;
  const [rows = 0, dimension = 0] = hidden.shape;
  blas.matrixMultiply({
    transposeB: true,
    m: rows,
    n: width,
    k: dimension,
    a: hidden.data,
    lda: dimension,
    b: weight.data,
    bOffset: start * dimension,
    ldb: dimension,
    c: scratch,
    ldc: width,
  });
}

/**
 * Writes sequenceLosses [batch] (mean NLL in nats of each sequence's unmasked targets; 0 without
 * any) and tokenCounts [batch], and the per-row log-sum-exp into `state.logSumExp` for the backward
 * pass. Throws TokenRangeError for a target outside the vocabulary.
 */
export function chunkedCrossEntropyForward(
  state: ChunkedCrossEntropyState,
  output: { sequenceLosses: Float64Array; tokenCounts: Int32Array },
): void {
  const { sequenceLosses, tokenCounts } = output;
  const { rows, vocabularySize } = checkState(state);
  const { targets, batchSize, scratch, chunkSize, logSumExp } = state;
  assertLength(sequenceLosses, batchSize, "chunked cross-entropy sequence losses");
  assertLength(tokenCounts, batchSize, "chunked cross-entropy token counts");
  const targetLogits = new Float64Array(rows);
  logSumExp.fill(Number.NEGATIVE_INFINITY);
  for (let row = 0; row < rows; row++) {
    const target = targets[row] as number;
    if (target >= vocabularySize) {
      throw new TokenRangeError(`target ${target} at row ${row} is outside the vocabulary of ${vocabularySize}`);
    }
  }
  for (let start = 0; start < vocabularySize; start += chunkSize) {
    const width = Math.min(chunkSize, vocabularySize - start);
    chunkLogits(state, start, width);
    for (let row = 0; row < rows; row++) {
      const target = targets[row] as number;
      if (target < 0) continue;
      if (target >= start && target < start + width)
        targetLogits[row] = scratch[row * width + target - start] as number;
      const chunk = softmaxRow(scratch, scratch, row * width, width);
      const running = logSumExp[row] as number;
      const high = Math.max(running, chunk);
      logSumExp[row] = high + Math.log(Math.exp(running - high) + Math.exp(chunk - high));
    }
  }
  const length = rows / batchSize;
  for (let sequence = 0; sequence < batchSize; sequence++) {
    let total = 0;
    let count = 0;
    for (let row = sequence * length; row < (sequence + 1) * length; row++) {
      if ((targets[row] as number) < 0) {
        logSumExp[row] = 0;
        continue;
      }
      total += (logSumExp[row] as number) - (targetLogits[row] as number);
      count++;
    }
    sequenceLosses[sequence] = count === 0 ? 0 : total / count;
    tokenCounts[sequence] = count;
  }
}

/**
 * Backward pass of chunkedCrossEntropyForward (same state): accumulates (+=) dLoss/dHidden into
 * `hiddenGradient` [rows, d] and dLoss/dWeight into `weightGradient` [vocabulary, d], for the loss
 * sum over sequences of sequenceLossGradients[s] * sequenceLosses[s].
 */
export function chunkedCrossEntropyBackward(
  state: ChunkedCrossEntropyState,
  gradients: {
    tokenCounts: Int32Array;
    sequenceLossGradients: ArrayLike<number>;
    hiddenGradient: Tensor;
    weightGradient: Tensor;
  },
): void {
  const { tokenCounts, sequenceLossGradients, hiddenGradient, weightGradient } = gradients;
  const { rows, dimension, vocabularySize } = checkState(state);
  const { blas, hidden, weight, targets, batchSize, scratch, chunkSize, logSumExp } = state;
  assertShape(hiddenGradient, hidden.shape, "chunked cross-entropy hidden gradient");
  assertShape(weightGradient, weight.shape, "chunked cross-entropy weight gradient");
  assertLength(tokenCounts, batchSize, "chunked cross-entropy token counts");
  assertLength(sequenceLossGradients, batchSize, "chunked cross-entropy sequence loss gradients");
  const length = rows / batchSize;
  const rowScales = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    const sequence = Math.floor(row / length);
    const count = tokenCounts[sequence] as number;
    rowScales[row] =
      (targets[row] as number) < 0 || count === 0 ? 0 : (sequenceLossGradients[sequence] as number) / count;
  }
  for (let start = 0; start < vocabularySize; start += chunkSize) {
    const width = Math.min(chunkSize, vocabularySize - start);
    chunkLogits(state, start, width);
    for (let row = 0; row < rows; row++) {
      const rowStart = row * width;
      const scale = rowScales[row] as number;
      if (scale === 0) {
        scratch.fill(0, rowStart, rowStart + width);
        continue;
      }
      // dLogit = scale * (p - onehot): the chunk's softmax times exp(chunk lse - row lse).
      const factor = scale * Math.exp(softmaxRow(scratch, scratch, rowStart, width) - (logSumExp[row] as number));
      scaleRow(scratch.subarray(rowStart, rowStart + width), factor);
      const target = targets[row] as number;
      if (target >= start && target < start + width) {
        scratch[rowStart + target - start] = (scratch[rowStart + target - start] as number) - scale;
      }
    }
    // dHidden += dLogits [rows, width] x weight chunk [width, d]
    blas.matrixMultiply({
      m: rows,
      n: dimension,
      k: width,
      a: scratch,
      lda: width,
      b: weight.data,
      bOffset: start * dimension,
      ldb: dimension,
      beta: 1,
      c: hiddenGradient.data,
      ldc: dimension,
    });
    // dWeight chunk += dLogits^T [width, rows] x hidden [rows, d]
    blas.matrixMultiply({
      transposeA: true,
      m: width,
      n: dimension,
      k: rows,
      a: scratch,
      lda: width,
      b: hidden.data,
      ldb: dimension,
      beta: 1,
      c: weightGradient.data,
      cOffset: start * dimension,
      ldc: dimension,
    });
  }
}

function scaleRow(row: Float32Array, factor: number): void {
  const ranKernels = runKernels({
    operation: "chunkedCrossEntropyBackward",
    inputs: [],
    outputs: [row],
    run: ({ kernels, address }) => kernels.scale(address(row), row.length, factor),
  });
  if (ranKernels) return;
  for (let index = 0; index < row.length; index++) row[index] = (row[index] as number) * factor;
}
