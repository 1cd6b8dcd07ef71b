import { describe, expect, it } from "vitest";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { rmsNormBackward, rmsNormForward } from "./rms-norm.js";

interface RmsNormFixture {
  rows: number;
  dimension: number;
  epsilon: number;
  input: number[];
  weight: number[];
  output: number[];
  outputGradient: number[];
  inputGradient: number[];
  weightGradient: number[];
}

describe.each(testBackends())("rmsNorm on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<RmsNormFixture>("src/engine", "rms-norm");
    const shape = [fixture.rows, fixture.dimension];
    const input = tensor(shape, fixture.input);
    const weight = tensor([fixture.dimension], fixture.weight);
    const output = tensor(shape);
    const inverseRms = backend.float32(fixture.rows);
    rmsNormForward({ input, weight, epsilon: fixture.epsilon, output, inverseRms });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const inputGradient = tensor(shape);
    const weightGradient = tensor([fixture.dimension]);
    const outputGradient = tensor(shape, fixture.outputGradient);
    rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
    expect(scaledMaxError(weightGradient.data, fixture.weightGradient)).toBeLessThan(1e-6);
  });

  it("has finite-difference gradients for input and weight", () => {
    const input = tensor([3, 6], pseudoRandom(18, 7));
    const weight = tensor([6], pseudoRandom(6, 8));
    const output = tensor([3, 6]);
    const inverseRms = backend.float32(3);
    const weights = pseudoRandom(18, 9);
    rmsNormForward({ input, weight, epsilon: 1e-5, output, inverseRms });
    const inputGradient = tensor([3, 6]);
    const weightGradient = tensor([6]);
    const outputGradient = tensor([3, 6], weights);
    rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
    const loss = () => {
      rmsNormForward({ input, weight, epsilon: 1e-5, output, inverseRms });
      return weightedSum(output.data, weights);
    };
    expect(
      finiteDifferenceError({ values: input.data, analytic: inputGradient.data, loss, epsilon: 3e-3 }),
    ).toBeLessThan(5e-3);
    expect(finiteDifferenceError({ values: weight.data, analytic: weightGradient.data, loss })).toBeLessThan(1e-3);
  });

  it("accumulates into existing gradients", () => {
    const input = tensor([1, 2], [3, 4]);
    const weight = tensor([2], [1, 1]);
    const inverseRms = backend.float32(1);
    rmsNormForward({ input, weight, epsilon: 0, output: tensor([1, 2]), inverseRms });
    expect(inverseRms[0]).toBeCloseTo(1 / Math.sqrt(12.5), 6);
    const inputGradient = tensor([1, 2], [5, 5]);
    const weightGradient = tensor([2], [7, 7]);
    const outputGradient = tensor([1, 2], [0, 0]);
    rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
    expect(Array.from(inputGradient.data)).toEqual([5, 5]);
    expect(Array.from(weightGradient.data)).toEqual([7, 7]);
  });
});
