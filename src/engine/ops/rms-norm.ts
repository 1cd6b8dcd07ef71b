/** RMSNorm as in Llama: y = x / sqrt(mean(x^2) + epsilon) * weight, row by row. */

import { runKernels } from "../kernel-call.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";

/**
 * output [rows, d] = normalised input [rows, d] times weight [d]. Saves 1 / rms per row in
 * `inverseRms` [rows] for the backward pass. `output` may be `input` (in place).
 */
export function rmsNormForward(options: {
  input: Tensor;
  weight: Tensor;
  epsilon: number;
  output: Tensor;
  inverseRms: Float32Array;
}): void {
  const { input, weight, epsilon, output, inverseRms } = options;
  const [rows = 0, dimension = 0] = input.shape;
  assertShape(weight, [dimension], "rmsNorm weight");
  assertShape(output, [rows, dimension], "rmsNorm output");
  assertLength(inverseRms, rows, "rmsNorm inverseRms");
  const ranKernels = runKernels({
    operation: "rmsNormForward",
    inputs: [input.data, weight.data],
    outputs: [output.data, inverseRms],
    run: ({ kernels, address }) =>
      kernels.rmsNormForward(
        address(input.data),
        address(weight.data),
        address(output.data),
        address(inverseRms),
        rows,
        dimension,
        epsilon,
      ),
  });
  if (ranKernels) {
    return;
  }
  const x = input.data;
  const w = weight.data;
  const y = output.data;
  for (let row = 0; row < rows; row++) {
    const start = row * dimension;
    let sumOfSquares = 0;
    for (let column = 0; column < dimension; column++) {
      const value = x[start + column] as number;
      sumOfSquares += value * value;
    }
    const scale = Math.fround(1 / Math.sqrt(sumOfSquares / dimension + epsilon));
    inverseRms[row] = scale;
    for (let column = 0; column < dimension; column++) {
      y[start + column] = (x[start + column] as number) * scale * (w[column] as number);
    }
  }
}

/**
 * Gradients of rmsNormForward, both accumulated: inputGradient += dL/dx, weightGradient += dL/dw.
 * With r = inverseRms and g = outputGradient * weight: dL/dx = r * g - x * r^3 * mean(g * x).
 */
export function rmsNormBackward(options: {
  input: Tensor;
  weight: Tensor;
  inverseRms: Float32Array;
  outputGradient: Tensor;
  inputGradient: Tensor;
  weightGradient: Tensor;
}): void {
  const { input, weight, inverseRms, outputGradient, inputGradient, weightGradient } = options;
  const [rows = 0, dimension = 0] = input.shape;
  assertShape(weight, [dimension], "rmsNorm weight");
  assertShape(outputGradient, [rows, dimension], "rmsNorm output gradient");
  assertShape(inputGradient, [rows, dimension], "rmsNorm input gradient");
  assertShape(weightGradient, [dimension], "rmsNorm weight gradient");
  assertLength(inverseRms, rows, "rmsNorm inverseRms");
  const ranKernels = runKernels({
    operation: "rmsNormBackward",
    inputs: [input.data, weight.data, inverseRms, outputGradient.data],
    outputs: [inputGradient.data, weightGradient.data],
    run: ({ kernels, address }) =>
      kernels.rmsNormBackward(
        address(input.data),
        address(weight.data),
        address(inverseRms),
        address(outputGradient.data),
        address(inputGradient.data),
        address(weightGradient.data),
        rows,
        dimension,
      ),
  });
  if (ranKernels) {
    return;
  }
  const x = input.data;
  const w = weight.data;
  const dy = outputGradient.data;
  const dx = inputGradient.data;
  const dw = weightGradient.data;
  for (let row = 0; row < rows; row++) {
    const start = row * dimension;
    const scale = inverseRms[row] as number;
    let dot = 0;
    for (let column = 0; column < dimension; column++) {
      const upstream = dy[start + column] as number;
      const value = x[start + column] as number;
      dot += upstream * (w[column] as number) * value;
      dw[column] = (dw[column] as number) + upstream * value * scale;
    }
    const correction = (scale * scale * scale * dot) / dimension;
    for (let column = 0; column < dimension; column++) {
      dx[start + column] =
        (dx[start + column] as number) +
        scale * (dy[start + column] as number) * (w[column] as number) -
        correction * (x[start + column] as number);
    }
  }
}
