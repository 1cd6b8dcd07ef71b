import { describe, expect, it } from "vitest";
import { ShapeError } from "../engine-errors.js";
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
  bias: number[];
  biasedOutput: number[];
  biasGradient: number[];
}

describe.each(testBackends())("matmul on $name", (backend) => {
  const { blas, tensor } = backend;
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<MatmulFixture>("src/engine", "matmul");
    const input = tensor([fixture.rows, fixture.inputSize], fixture.input);
    const weight = tensor([fixture.outputSize, fixture.inputSize], fixture.weight);
    const output = tensor([fixture.rows, fixture.outputSize]);
    matmulForward({ blas, input, weight, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const outputGradient = tensor(output.shape, fixture.outputGradient);
    const inputGradient = tensor(input.shape);
    const weightGradient = tensor(weight.shape);
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
    expect(scaledMaxError(weightGradient.data, fixture.weightGradient)).toBeLessThan(1e-6);
  });

  it("matches the PyTorch fixture with a bias (added to every row; its gradient sums the rows)", () => {
    const fixture = readFixture<MatmulFixture>("src/engine", "matmul");
    const input = tensor([fixture.rows, fixture.inputSize], fixture.input);
    const weight = tensor([fixture.outputSize, fixture.inputSize], fixture.weight);
    const bias = tensor([fixture.outputSize], fixture.bias);
    const output = tensor([fixture.rows, fixture.outputSize]);
    matmulForward({ blas, input, weight, output, bias });
    expect(scaledMaxError(output.data, fixture.biasedOutput)).toBeLessThan(1e-6);
    const outputGradient = tensor(output.shape, fixture.outputGradient);
    const biasGradient = tensor([fixture.outputSize], [1, 1, 1, 1]);
    const weightGradient = tensor(weight.shape);
    matmulBackward({ blas, input, weight, outputGradient, weightGradient, biasGradient });
    // The bias gradient accumulates like the weight gradient: onto the ones it started with.
    expect(
      scaledMaxError(
        biasGradient.data,
        fixture.biasGradient.map((value) => value + 1),
      ),
    ).toBeLessThan(1e-6);
    expect(scaledMaxError(weightGradient.data, fixture.weightGradient)).toBeLessThan(1e-6);
    expect(() => matmulForward({ blas, input, weight, output, bias: tensor([3]) })).toThrow(ShapeError);
  });

  it("has finite-difference gradients for input and weight", () => {
    const input = tensor([4, 5], pseudoRandom(20, 3));
    const weight = tensor([3, 5], pseudoRandom(15, 4));
    const output = tensor([4, 3]);
    const weights = pseudoRandom(12, 5);
    const inputGradient = tensor([4, 5]);
    const weightGradient = tensor([3, 5]);
    const outputGradient = tensor([4, 3], weights);
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient });
    const loss = () => {
      matmulForward({ blas, input, weight, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: input.data, analytic: inputGradient.data, loss })).toBeLessThan(1e-3);
    expect(finiteDifferenceError({ values: weight.data, analytic: weightGradient.data, loss })).toBeLessThan(1e-3);
  });

  it("accumulates into the output and the gradients when asked (fused residual add)", () => {
    const input = tensor([2, 2], [1, 2, 3, 4]);
    const weight = tensor([1, 2], [10, 1]);
    const output = tensor([2, 1], [100, 200]);
    matmulForward({ blas, input, weight, output, accumulate: true });
    expect(Array.from(output.data)).toEqual([112, 234]);
    const weightGradient = tensor([1, 2], [1, 1]);
    const inputGradient = tensor([2, 2], [1, 1, 1, 1]);
    const outputGradient = tensor([2, 1], [1, 2]);
    matmulBackward({ blas, input, weight, outputGradient, inputGradient, weightGradient, accumulateInput: true });
    expect(Array.from(weightGradient.data)).toEqual([1 + 1 + 6, 1 + 2 + 8]);
    expect(Array.from(inputGradient.data)).toEqual([11, 2, 21, 3]);
  });

  it("rejects mismatched shapes and out-of-bounds operands", () => {
    const input = tensor([2, 3]);
    const weight = tensor([4, 2]);
    expect(() => matmulForward({ blas, input, weight, output: tensor([2, 4]) })).toThrow(ShapeError);
    expect(() =>
      blas.matrixMultiply({
        m: 2,
        n: 2,
        k: 2,
        a: backend.float32(3),
        lda: 2,
        b: backend.float32(4),
        ldb: 2,
        c: backend.float32(4),
        ldc: 2,
      }),
    ).toThrow(/exceeds/);
  });
});
