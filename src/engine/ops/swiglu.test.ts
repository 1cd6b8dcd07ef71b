import { describe, expect, it } from "vitest";
import { createTensor } from "../tensor.js";
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

describe.each(testBackends())("swiglu on $kind", () => {
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<SwigluFixture>("src/engine", "swiglu");
    const gateUp = createTensor({ shape: [fixture.rows, 2 * fixture.hidden], data: Float32Array.from(fixture.gateUp) });
    const output = createTensor({ shape: [fixture.rows, fixture.hidden] });
    swigluForward({ gateUp, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const gateUpGradient = createTensor({ shape: gateUp.shape });
    const outputGradient = createTensor({ shape: output.shape, data: Float32Array.from(fixture.outputGradient) });
    swigluBackward({ gateUp, outputGradient, gateUpGradient });
    expect(scaledMaxError(gateUpGradient.data, fixture.gateUpGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const gateUp = createTensor({ shape: [3, 8], data: pseudoRandom(24, 13, 3) });
    const output = createTensor({ shape: [3, 4] });
    const weights = pseudoRandom(12, 14);
    const gateUpGradient = createTensor({ shape: [3, 8] });
    swigluBackward({ gateUp, outputGradient: createTensor({ shape: [3, 4], data: weights }), gateUpGradient });
    const loss = () => {
      swigluForward({ gateUp, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: gateUp.data, analytic: gateUpGradient.data, loss })).toBeLessThan(1e-3);
  });
});
