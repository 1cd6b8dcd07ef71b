import { describe, expect, it } from "vitest";
import { ShapeError } from "../engine-errors.js";
import { createTensor } from "../tensor.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { createRotaryTable, rotaryBackward, rotaryForward } from "./rotary-embedding.js";

interface RotaryFixture {
  rows: number;
  width: number;
  heads: number;
  headDimension: number;
  theta: number;
  maxPositions: number;
  positions: number[];
  input: number[];
  output: number[];
  outputGradient: number[];
  inputGradient: number[];
}

describe.each(testBackends())("rotary embedding on $kind", () => {
  it("matches the PyTorch fixture (Hugging Face pairing i with i + d/2; unrotated heads untouched)", () => {
    const fixture = readFixture<RotaryFixture>("src/engine", "rotary-embedding");
    const table = createRotaryTable(fixture);
    const positions = Int32Array.from(fixture.positions);
    const data = createTensor({ shape: [fixture.rows, fixture.width], data: Float32Array.from(fixture.input) });
    rotaryForward({ table, data, positions, heads: fixture.heads });
    expect(scaledMaxError(data.data, fixture.output)).toBeLessThan(1e-6);
    const gradient = createTensor({ shape: data.shape, data: Float32Array.from(fixture.outputGradient) });
    rotaryBackward({ table, gradient, positions, heads: fixture.heads });
    expect(scaledMaxError(gradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const table = createRotaryTable({ headDimension: 4, maxPositions: 6, theta: 10000 });
    const positions = Int32Array.from([0, 3, 5]);
    const input = pseudoRandom(24, 11);
    const weights = pseudoRandom(24, 12);
    const gradient = createTensor({ shape: [3, 8], data: weights.slice() });
    rotaryBackward({ table, gradient, positions, heads: 2 });
    const loss = () => {
      const data = createTensor({ shape: [3, 8], data: input.slice() });
      rotaryForward({ table, data, positions, heads: 2 });
      return weightedSum(data.data, weights);
    };
    expect(finiteDifferenceError({ values: input, analytic: gradient.data, loss })).toBeLessThan(1e-3);
  });

  it("rejects positions beyond the table", () => {
    const table = createRotaryTable({ headDimension: 4, maxPositions: 2, theta: 10000 });
    const data = createTensor({ shape: [1, 4] });
    expect(() => rotaryForward({ table, data, positions: Int32Array.from([2]), heads: 1 })).toThrow(ShapeError);
  });
});
