/**
 * Causal multi-head self-attention with grouped key/value heads, on packed q/k/v rows: each row of
 * `qkv` holds `heads` query heads, then `kvHeads` key heads, then `kvHeads` value heads, each of
 * `headDimension`. Query head h reads key/value head floor(h / (heads / kvHeads)). Scores are scaled
 * by 1 / sqrt(headDimension). The four products per head go through BLAS, addressing each head inside
 * the packed rows through leading dimensions (no copies).
 */
import type { Blas } from "../blas.js";
import { ShapeError } from "../engine-errors.js";
import { runKernels } from "../kernel-call.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";
import { kernelsFor } from "../tensor-memory.js";

/** Dimensions of one attention call. */
export interface AttentionShape {
  batchSize: number;
  sequenceLength: number;
  heads: number;
  kvHeads: number;
  headDimension: number;
}

function checkShape(shape: AttentionShape, qkv: Tensor): { width: number; outputWidth: number; groupSize: number } {
  const { batchSize, sequenceLength, heads, kvHeads, headDimension } = shape;
  if (kvHeads <= 0 || heads % kvHeads !== 0) {
    throw new ShapeError(`attention: ${heads} heads are not a multiple of ${kvHeads} key/value heads`);
  }
  const width = (heads + 2 * kvHeads) * headDimension;
  assertShape(qkv, [batchSize * sequenceLength, width], "attention qkv");
  return { width, outputWidth: heads * headDimension, groupSize: heads / kvHeads };
}

/** Elements the `probabilities` buffer needs: batch * heads * sequence^2. */
export function attentionProbabilitiesSize(shape: AttentionShape): number {
  return shape.batchSize * shape.heads * shape.sequenceLength * shape.sequenceLength;
}

/**
 * output [batch * sequence, heads * headDimension] = softmax(causal(q k^T / sqrt(d))) v. Saves the
 * attention probabilities [batch, heads, sequence, sequence] (zero above the diagonal) for backward.
 */
export function causalAttentionForward(
  options: AttentionShape & { blas: Blas; qkv: Tensor; probabilities: Float32Array; output: Tensor },
): void {
  const {
    blas,
    qkv,
    probabilities,
    output,
    batchSize,
    sequenceLength: length,
    heads,
    kvHeads,
    headDimension,
  } = options;
  const { width, outputWidth, groupSize } = checkShape(options, qkv);
  assertShape(output, [batchSize * length, outputWidth], "attention output");
  assertLength(probabilities, attentionProbabilitiesSize(options), "attention probabilities");
  const scale = 1 / Math.sqrt(headDimension);
  for (let batch = 0; batch < batchSize; batch++) {
    const rowStart = batch * length;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const probabilityStart = (batch * heads + head) * length * length;
      const qOffset = rowStart * width + head * headDimension;
      const kOffset = rowStart * width + (heads + kvHead) * headDimension;
      const vOffset = rowStart * width + (heads + kvHeads + kvHead) * headDimension;
      blas.matrixMultiply({
        transposeB: true,
        m: length,
        n: length,
        k: headDimension,
        alpha: scale,
        a: qkv.data,
        aOffset: qOffset,
        lda: width,
        b: qkv.data,
        bOffset: kOffset,
        ldb: width,
        c: probabilities,
        cOffset: probabilityStart,
        ldc: length,
      });
      causalSoftmaxRows(probabilities, probabilityStart, length);
      blas.matrixMultiply({
        m: length,
        n: headDimension,
        k: length,
        a: probabilities,
        aOffset: probabilityStart,
        lda: length,
        b: qkv.data,
        bOffset: vOffset,
        ldb: width,
        c: output.data,
        cOffset: rowStart * outputWidth + head * headDimension,
        ldc: outputWidth,
      });
    }
  }
}

/** Row i of a length x length block becomes softmax over columns 0..i, and 0 after them. */
function causalSoftmaxRows(data: Float32Array, start: number, length: number): void {
  const kernels = kernelsFor(data);
  if (kernels !== undefined) {
    kernels.causalSoftmax(data.byteOffset + start * 4, length);
    return;
  }
  for (let row = 0; row < length; row++) {
    const rowStart = start + row * length;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let column = 0; column <= row; column++) {
      const value = data[rowStart + column] as number;
      if (value > maximum) {
        maximum = value;
      }
    }
    let sum = 0;
    for (let column = 0; column <= row; column++) {
      const value = Math.exp((data[rowStart + column] as number) - maximum);
      data[rowStart + column] = value;
      sum += value;
    }
    const inverse = 1 / sum;
    for (let column = 0; column <= row; column++) {
      data[rowStart + column] = (data[rowStart + column] as number) * inverse;
    }
    data.fill(0, rowStart + row + 1, rowStart + length);
  }
}

/**
 * Gradient of causalAttentionForward into `qkvGradient` (overwritten; same packing as `qkv`).
 * `qkv` and `probabilities` are the forward pass's; `scratch` holds sequence^2 elements.
 */
export function causalAttentionBackward(
  options: AttentionShape & {
    blas: Blas;
    qkv: Tensor;
    probabilities: Float32Array;
    outputGradient: Tensor;
    qkvGradient: Tensor;
    scratch: Float32Array;
  },
): void {
  const { blas, qkv, probabilities, outputGradient, qkvGradient, scratch } = options;
  const { batchSize, sequenceLength: length, heads, kvHeads, headDimension } = options;
  const { width, outputWidth, groupSize } = checkShape(options, qkv);
  assertShape(outputGradient, [batchSize * length, outputWidth], "attention output gradient");
  assertShape(qkvGradient, qkv.shape, "attention qkv gradient");
  assertLength(probabilities, attentionProbabilitiesSize(options), "attention probabilities");
  if (scratch.length < length * length) {
    throw new ShapeError(`attention scratch has ${scratch.length} elements, needs ${length * length}`);
  }
  const scale = 1 / Math.sqrt(headDimension);
  for (let batch = 0; batch < batchSize; batch++) {
    const rowStart = batch * length;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      // The first query head of a group overwrites its key/value gradient; the others add to it.
      const kvBeta = head % groupSize === 0 ? 0 : 1;
      const probabilityStart = (batch * heads + head) * length * length;
      const qOffset = rowStart * width + head * headDimension;
      const kOffset = rowStart * width + (heads + kvHead) * headDimension;
      const vOffset = rowStart * width + (heads + kvHeads + kvHead) * headDimension;
      const outputOffset = rowStart * outputWidth + head * headDimension;
      // dV += P^T dO
      blas.matrixMultiply({
        transposeA: true,
        m: length,
        n: headDimension,
        k: length,
        a: probabilities,
        aOffset: probabilityStart,
        lda: length,
        b: outputGradient.data,
        bOffset: outputOffset,
        ldb: outputWidth,
        beta: kvBeta,
        c: qkvGradient.data,
        cOffset: vOffset,
        ldc: width,
      });
      // dP = dO V^T
      blas.matrixMultiply({
        transposeB: true,
        m: length,
        n: length,
        k: headDimension,
        a: outputGradient.data,
        aOffset: outputOffset,
        lda: outputWidth,
        b: qkv.data,
        bOffset: vOffset,
        ldb: width,
        c: scratch,
        ldc: length,
      });
      softmaxBackwardRows(probabilities, probabilityStart, scratch, length);
      // dQ = scale dS K
      blas.matrixMultiply({
        m: length,
        n: headDimension,
        k: length,
        alpha: scale,
        a: scratch,
        lda: length,
        b: qkv.data,
        bOffset: kOffset,
        ldb: width,
        c: qkvGradient.data,
        cOffset: qOffset,
        ldc: width,
      });
      // dK += scale dS^T Q
      blas.matrixMultiply({
        transposeA: true,
        m: length,
        n: headDimension,
        k: length,
        alpha: scale,
        a: scratch,
        lda: length,
        b: qkv.data,
        bOffset: qOffset,
        ldb: width,
        beta: kvBeta,
        c: qkvGradient.data,
        cOffset: kOffset,
        ldc: width,
      });
    }
  }
}

/** Turns dP (in `gradient`) into dS = P * (dP - rowsum(P * dP)), zero above the diagonal. */
function softmaxBackwardRows(probabilities: Float32Array, start: number, gradient: Float32Array, length: number): void {
  const ranKernels = runKernels({
    operation: "causalAttentionBackward",
    inputs: [probabilities],
    outputs: [gradient],
    run: ({ kernels, address }) =>
      kernels.causalSoftmaxBackward(address(probabilities) + start * 4, address(gradient), length),
  });
  if (ranKernels) {
    return;
  }
  for (let row = 0; row < length; row++) {
    const probabilityRow = start + row * length;
    const gradientRow = row * length;
    let dot = 0;
    for (let column = 0; column <= row; column++) {
      dot += (probabilities[probabilityRow + column] as number) * (gradient[gradientRow + column] as number);
    }
    for (let column = 0; column <= row; column++) {
      gradient[gradientRow + column] =
        (probabilities[probabilityRow + column] as number) * ((gradient[gradientRow + column] as number) - dot);
    }
    gradient.fill(0, gradientRow + row + 1, gradientRow + length);
  }
}
