/**
 * Linear layer, with the weight stored as in Hugging Face checkpoints ([out, in]):
 * output = input * weight^T (+ bias). Every product goes through the BLAS backend; the optional
 * bias (Qwen2's q/k/v projections) is a row broadcast and its gradient a column sum.
 */
import type { Blas } from "../blas.js";
import { assertShape, type Tensor } from "../tensor.js";

/**
 * output [rows, out] = input [rows, in] * weight [out, in]^T. With `accumulate` (default false) the
 * product is added to `output` instead: a residual add fused into the multiply. `bias` [out] (default
 * none) is added to every output row.
 */
export function matmulForward(options: {
  blas: Blas;
  input: Tensor;
  weight: Tensor;
  output: Tensor;
  accumulate?: boolean;
  bias?: Tensor;
}): void {
  const { blas, input, weight, output, accumulate = false, bias } = options;
  const [rows = 0, inner = 0] = input.shape;
  const [outer = 0] = weight.shape;
  assertShape(weight, [outer, inner], "matmul weight");
  assertShape(output, [rows, outer], "matmul output");
  blas.matrixMultiply({
    transposeB: true,
    m: rows,
    n: outer,
    k: inner,
    a: input.data,
    lda: inner,
    b: weight.data,
    ldb: inner,
    beta: accumulate ? 1 : 0,
    c: output.data,
    ldc: outer,
  });
  if (bias !== undefined) {
    assertShape(bias, [outer], "matmul bias");
    const values = bias.data;
    const data = output.data;
    for (let row = 0; row < rows; row++) {
      const start = row * outer;
      for (let column = 0; column < outer; column++) {
        data[start + column] = (data[start + column] as number) + (values[column] as number);
      }
    }
  }
}

/**
 * Gradients of matmulForward. weightGradient += outputGradient^T * input (always accumulates);
 * inputGradient = outputGradient * weight, added to its contents when `accumulateInput` (default false);
 * biasGradient [out] += column sums of outputGradient (always accumulates). Any gradient may be omitted.
 */
export function matmulBackward(options: {
  blas: Blas;
  input: Tensor;
  weight: Tensor;
  outputGradient: Tensor;
  inputGradient?: Tensor;
  weightGradient?: Tensor;
  biasGradient?: Tensor;
  accumulateInput?: boolean;
}): void {
  const {
    blas,
    input,
    weight,
    outputGradient,
    inputGradient,
    weightGradient,
    biasGradient,
    accumulateInput = false,
  } = options;
  const [rows = 0, inner = 0] = input.shape;
  const [outer = 0] = weight.shape;
  assertShape(weight, [outer, inner], "matmul weight");
  assertShape(outputGradient, [rows, outer], "matmul output gradient");
  if (weightGradient !== undefined) {
    assertShape(weightGradient, [outer, inner], "matmul weight gradient");
    blas.matrixMultiply({
      transposeA: true,
      m: outer,
      n: inner,
      k: rows,
      a: outputGradient.data,
      lda: outer,
      b: input.data,
      ldb: inner,
      beta: 1,
      c: weightGradient.data,
      ldc: inner,
    });
  }
  if (biasGradient !== undefined) {
    assertShape(biasGradient, [outer], "matmul bias gradient");
    const sums = biasGradient.data;
    const gradient = outputGradient.data;
    for (let row = 0; row < rows; row++) {
      const start = row * outer;
      for (let column = 0; column < outer; column++) {
        sums[column] = (sums[column] as number) + (gradient[start + column] as number);
      }
    }
  }
  if (inputGradient !== undefined) {
    assertShape(inputGradient, [rows, inner], "matmul input gradient");
    blas.matrixMultiply({
      m: rows,
      n: inner,
      k: outer,
      a: outputGradient.data,
      lda: outer,
      b: weight.data,
      ldb: inner,
      beta: accumulateInput ? 1 : 0,
      c: inputGradient.data,
      ldc: inner,
    });
  }
}
