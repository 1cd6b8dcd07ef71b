import { describe, expect, it } from "vitest";
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

describe.each(testBackends())("residual add on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<ResidualFixture>("src/engine", "residual-add");
    const input = tensor(fixture.shape, fixture.input);
    const branch = tensor(fixture.shape, fixture.branch);
    const output = tensor(fixture.shape);
    residualAddForward({ input, branch, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const inputGradient = tensor(fixture.shape);
    const branchGradient = tensor(fixture.shape);
    const outputGradient = tensor(fixture.shape, fixture.outputGradient);
    residualAddBackward({ outputGradient, inputGradient, branchGradient });
    expect(scaledMaxError(inputGradient.data, fixture.inputGradient)).toBeLessThan(1e-7);
    expect(scaledMaxError(branchGradient.data, fixture.branchGradient)).toBeLessThan(1e-7);
  });

  it("has finite-difference gradients and works in place", () => {
    const input = tensor([2, 3], pseudoRandom(6, 15));
    const branch = tensor([2, 3], pseudoRandom(6, 16));
    const output = tensor([2, 3]);
    const weights = pseudoRandom(6, 17);
    const inputGradient = tensor([2, 3]);
    residualAddBackward({ outputGradient: tensor([2, 3], weights), inputGradient });
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
