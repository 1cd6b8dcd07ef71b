import { describe, expect, it } from "vitest";
import { ShapeError } from "../engine-errors.js";
import { createTensor } from "../tensor.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { matmulBackward, matmulForward } from "./matmul.js";

interface MatmulFixture {
  rows: number;
  inputSize: number;
  outputSize: number;
  input: number[];
  weight: number[];
  output: number[];
  outputGradient: number[];
  inputGradient: number[];
  weightGradient: number[];
}

describe.each(testBackends())("matmul on $kind", (blas) => {
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<MatmulFixture>("src/engine", "matmul");
    const input = createTensor({ shape: [fixture.rows, fixture.inputSize], data: Float32Array.from(fixture.input) });
    const weight = createTensor({
      shape: [fixture.outputSize, fixture.inputSize],
      data: Float32Array.from(fixture.weight),
    });
    const output = createTensor({ shape: [fixture.rows, fixture.outputSize] });
    matmulForward({ blas, input, weight, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const outputGradient = createTensor({ shape: output.shape, data: Float32Array.from(fixture.outputGradient) });
    const inputGradient = createTensor({ shape: input.shape });
    const weightGradient = createTensor({ shape: weight.shape });
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
    expect(scaledMaxError(weightGradient.data, fixture.weightGradient)).toBeLessThan(1e-6);
  });

  it("has finite-difference gradients for input and weight", () => {
    const input = createTensor({ shape: [4, 5], data: pseudoRandom(20, 3) });
    const weight = createTensor({ shape: [3, 5], data: pseudoRandom(15, 4) });
    const output = createTensor({ shape: [4, 3] });
    const weights = pseudoRandom(12, 5);
    const inputGradient = createTensor({ shape: [4, 5] });
    const weightGradient = createTensor({ shape: [3, 5] });
    const outputGradient = createTensor({ shape: [4, 3], data: weights });
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient });
    const loss = () => {
      matmulForward({ blas, input, weight, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: input.data, analytic: inputGradient.data, loss })).toBeLessThan(1e-3);
    expect(finiteDifferenceError({ values: weight.data, analytic: weightGradient.data, loss })).toBeLessThan(1e-3);
  });

  it("accumulates into the output and the gradients when asked (fused residual add)", () => {
    const input = createTensor({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
    const weight = createTensor({ shape: [1, 2], data: Float32Array.from([10, 1]) });
    const output = createTensor({ shape: [2, 1], data: Float32Array.from([100, 200]) });
    matmulForward({ blas, input, weight, output, accumulate: true });
    expect(Array.from(output.data)).toEqual([112, 234]);
    const weightGradient = createTensor({ shape: [1, 2], data: Float32Array.from([1, 1]) });
    const inputGradient = createTensor({ shape: [2, 2], data: Float32Array.from([1, 1, 1, 1]) });
    const outputGradient = createTensor({ shape: [2, 1], data: Float32Array.from([1, 2]) });
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient, accumulateInput: true });
    expect(Array.from(weightGradient.data)).toEqual([1 + 1 + 6, 1 + 2 + 8]);
    expect(Array.from(inputGradient.data)).toEqual([11, 2, 21, 3]);
  });

  it("rejects mismatched shapes and out-of-bounds operands", () => {
    const input = createTensor({ shape: [2, 3] });
    const weight = createTensor({ shape: [4, 2] });
    expect(() => matmulForward({ blas, input, weight, output: createTensor({ shape: [2, 4] }) })).toThrow(ShapeError);
    expect(() =>
      blas.matrixMultiply({
        m: 2,
        n: 2,
        k: 2,
        a: new Float32Array(3),
        lda: 2,
        b: new Float32Array(4),
        ldb: 2,
        c: new Float32Array(4),
        ldc: 2,
      }),
    ).toThrow(/exceeds/);
  });
});
