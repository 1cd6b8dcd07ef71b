import { describe, expect, it } from "vitest";
import { ShapeError } from "../engine-errors.js";
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

describe.each(testBackends())("rotary embedding on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture (Hugging Face pairing i with i + d/2; unrotated heads untouched)", () => {
    const fixture = readFixture<RotaryFixture>("src/engine", "rotary-embedding");
    const table = createRotaryTable({ ...fixture, memory: backend.memory });
    const positions = backend.int32(fixture.positions);
    const data = tensor([fixture.rows, fixture.width], fixture.input);
    rotaryForward({ table, data, positions, heads: fixture.heads });
    expect(scaledMaxError(data.data, fixture.output)).toBeLessThan(1e-6);
    const gradient = tensor(data.shape, fixture.outputGradient);
    rotaryBackward({ table, gradient, positions, heads: fixture.heads });
    expect(scaledMaxError(gradient.data, fixture.inputGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const table = createRotaryTable({ headDimension: 4, maxPositions: 6, theta: 10000, memory: backend.memory });
    const positions = backend.int32([0, 3, 5]);
    const input = pseudoRandom(24, 11);
    const weights = pseudoRandom(24, 12);
    const gradient = tensor([3, 8], weights.slice());
    rotaryBackward({ table, gradient, positions, heads: 2 });
    const loss = () => {
      const data = tensor([3, 8], input.slice());
      rotaryForward({ table, data, positions, heads: 2 });
      return weightedSum(data.data, weights);
    };
    expect(finiteDifferenceError({ values: input, analytic: gradient.data, loss })).toBeLessThan(1e-3);
  });

  it("rejects positions beyond the table", () => {
    const table = createRotaryTable({ headDimension: 4, maxPositions: 2, theta: 10000 });
    const data = tensor([1, 4]);
    expect(() => rotaryForward({ table, data, positions: backend.int32([2]), heads: 1 })).toThrow(ShapeError);
  });
});
