import { describe, expect, it } from "vitest";
import { createTensor } from "../tensor.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { residualAddBackward, residualAddForward } from "./residual-add.js";

interface ResidualFixture {
  shape: number[];
  input: number[];
  branch: number[];
  output: number[];
  outputGradient: number[];
  inputGradient: number[];
  branchGradient: number[];
}

describe.each(testBackends())("residual add on $kind", () => {
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<ResidualFixture>("src/engine", "residual-add");
    const input = createTensor({ shape: fixture.shape, data: Float32Array.from(fixture.input) });
    const branch = createTensor({ shape: fixture.shape, data: Float32Array.from(fixture.branch) });
    const output = createTensor({ shape: fixture.shape });
    residualAddForward({ input, branch, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const inputGradient = createTensor({ shape: fixture.shape });
    const branchGradient = createTensor({ shape: fixture.shape });
    const outputGradient = createTensor({ shape: fixture.shape, data: Float32Array.from(fixture.outputGradient) });
    residualAddBackward({ outputGradient, inputGradient, branchGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-7);
    expect(scaledMaxError(branchGradient.data, fixture.branchGradient)).toBeLessThan(1e-7);
  });

  it("has finite-difference gradients and works in place", () => {
    const input = createTensor({ shape: [2, 3], data: pseudoRandom(6, 15) });
    const branch = createTensor({ shape: [2, 3], data: pseudoRandom(6, 16) });
    const output = createTensor({ shape: [2, 3] });
    const weights = pseudoRandom(6, 17);
    const inputGradient = createTensor({ shape: [2, 3] });
    residualAddBackward({ outputGradient: createTensor({ shape: [2, 3], data: weights }), inputGradient });
    const loss = () => {
      residualAddForward({ input, branch, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: input.data, analytic: inputGradient.data, loss })).toBeLessThan(1e-3);
    const expected = Array.from(input.data, (value, index) => Math.fround(value + (branch.data[index] as number)));
    residualAddForward({ input, branch, output: input });
    expect(Array.from(input.data)).toEqual(expected);
  });
});
