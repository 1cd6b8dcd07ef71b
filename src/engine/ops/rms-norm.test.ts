import { describe, expect, it } from "vitest";
import { createTensor } from "../tensor.js";
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

describe.each(testBackends())("rmsNorm on $kind", () => {
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<RmsNormFixture>("src/engine", "rms-norm");
    const shape = [fixture.rows, fixture.dimension];
    const input = createTensor({ shape, data: Float32Array.from(fixture.input) });
    const weight = createTensor({ shape: [fixture.dimension], data: Float32Array.from(fixture.weight) });
    const output = createTensor({ shape });
    const inverseRms = new Float32Array(fixture.rows);
    rmsNormForward({ input, weight, epsilon: fixture.epsilon, output, inverseRms });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const inputGradient = createTensor({ shape });
    const weightGradient = createTensor({ shape: [fixture.dimension] });
    const outputGradient = createTensor({ shape, data: Float32Array.from(fixture.outputGradient) });
    rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
    expect(scaledMaxError(weightGradient.data, fixture.weightGradient)).toBeLessThan(1e-6);
  });

  it("has finite-difference gradients for input and weight", () => {
    const input = createTensor({ shape: [3, 6], data: pseudoRandom(18, 7) });
    const weight = createTensor({ shape: [6], data: pseudoRandom(6, 8) });
    const output = createTensor({ shape: [3, 6] });
    const inverseRms = new Float32Array(3);
    const weights = pseudoRandom(18, 9);
    rmsNormForward({ input, weight, epsilon: 1e-5, output, inverseRms });
    const inputGradient = createTensor({ shape: [3, 6] });
    const weightGradient = createTensor({ shape: [6] });
    const outputGradient = createTensor({ shape: [3, 6], data: weights });
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
    const input = createTensor({ shape: [1, 2], data: Float32Array.from([3, 4]) });
    const weight = createTensor({ shape: [2], data: Float32Array.from([1, 1]) });
    const inverseRms = new Float32Array(1);
    rmsNormForward({ input, weight, epsilon: 0, output: createTensor({ shape: [1, 2] }), inverseRms });
    expect(inverseRms[0]).toBeCloseTo(1 / Math.sqrt(12.5), 6);
    const inputGradient = createTensor({ shape: [1, 2], data: Float32Array.from([5, 5]) });
    const weightGradient = createTensor({ shape: [2], data: Float32Array.from([7, 7]) });
    const outputGradient = createTensor({ shape: [1, 2], data: Float32Array.from([0, 0]) });
    rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
    expect(Array.from(inputGradient.data)).toEqual([5, 5]);
    expect(Array.from(weightGradient.data)).toEqual([7, 7]);
  });
});
