import { describe, expect, it } from "vitest";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { swigluBackward, swigluForward } from "./swiglu.js";

interface SwigluFixture {
  rows: number;
  hidden: number;
  gateUp: number[];
  output: number[];
  outputGradient: number[];
  gateUpGradient: number[];
}

describe.each(testBackends())("swiglu on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<SwigluFixture>("src/engine", "swiglu");
    const gateUp = tensor([fixture.rows, 2 * fixture.hidden], fixture.gateUp);
    const output = tensor([fixture.rows, fixture.hidden]);
    swigluForward({ gateUp, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const gateUpGradient = tensor(gateUp.shape);
    const outputGradient = tensor(output.shape, fixture.outputGradient);
    swigluBackward({ gateUp, outputGradient, gateUpGradient });
    expect(scaledMaxError(gateUpGradient.data, fixture.gateUpGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const gateUp = tensor([3, 8], pseudoRandom(24, 13, 3));
    const output = tensor([3, 4]);
    const weights = pseudoRandom(12, 14);
    const gateUpGradient = tensor([3, 8]);
    swigluBackward({ gateUp, outputGradient: tensor([3, 4], weights), gateUpGradient });
    const loss = () => {
      swigluForward({ gateUp, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: gateUp.data, analytic: gateUpGradient.data, loss })).toBeLessThan(1e-3);
  });
});
