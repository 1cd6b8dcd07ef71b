/**
 * Linear layer without bias, with the weight stored as in Hugging Face checkpoints ([out, in]):
 * output = input * weight^T. Every product goes through the BLAS backend.
 */
import type { Blas } from "../blas.js";
import { assertShape, type Tensor } from "../tensor.js";

/**
 * output [rows, out] = input [rows, in] * weight [out, in]^T. With `accumulate` (default false) the
 * product is added to `output` instead: a residual add fused into the multiply.
 */
export function matmulForward(options: {
  blas: Blas;
  input: Tensor;
  weight: Tensor;
  output: Tensor;
  accumulate?: boolean;
}): void {
  const { blas, input, weight, output, accumulate = false } = options;
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
}

/**
 * Gradients of matmulForward. weightGradient += outputGradient^T * input (always accumulates);
 * inputGradient = outputGradient * weight, added to its contents when `accumulateInput` (default false).
 * Either gradient may be omitted.
 */
export function matmulBackward(options: {
  blas: Blas;
  input: Tensor;
  weight: Tensor;
  outputGradient: Tensor;
  inputGradient?: Tensor;
  weightGradient?: Tensor;
  accumulateInput?: boolean;
}): void {
  const { blas, input, weight, outputGradient, inputGradient, weightGradient, accumulateInput = false } = options;
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
