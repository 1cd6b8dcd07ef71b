/** RMSNorm as in Llama: y = x / sqrt(mean(x^2) + epsilon) * weight, row by row. */
import { assertLength, assertShape, type Tensor } from "../tensor.js";
import { kernelsFor } from "../tensor-memory.js";

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
  const kernels = kernelsFor(input.data, weight.data, output.data, inverseRms);
  if (kernels !== undefined) {
    kernels.rmsNormForward(
      input.data.byteOffset,
      weight.data.byteOffset,
      output.data.byteOffset,
      inverseRms.byteOffset,
      rows,
      dimension,
      epsilon,
    );
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
  const kernels = kernelsFor(
    input.data,
    weight.data,
    inverseRms,
    outputGradient.data,
    inputGradient.data,
    weightGradient.data,
  );
  if (kernels !== undefined) {
    kernels.rmsNormBackward(
      input.data.byteOffset,
      weight.data.byteOffset,
      inverseRms.byteOffset,
      outputGradient.data.byteOffset,
      inputGradient.data.byteOffset,
      weightGradient.data.byteOffset,
      rows,
      dimension,
    );
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
