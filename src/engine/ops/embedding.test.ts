import { describe, expect, it } from "vitest";
import { TokenRangeError } from "../engine-errors.js";
import { createTensor } from "../tensor.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { embeddingBackward, embeddingForward } from "./embedding.js";

interface EmbeddingFixture {
  vocabularySize: number;
  dimension: number;
  tokens: number[];
  table: number[];
  output: number[];
  outputGradient: number[];
  tableGradient: number[];
}

describe.each(testBackends())("embedding on $kind", () => {
  it("matches the PyTorch fixture, repeated tokens accumulating", () => {
    const fixture = readFixture<EmbeddingFixture>("src/engine", "embedding");
    const tokens = Int32Array.from(fixture.tokens);
    const table = createTensor({
      shape: [fixture.vocabularySize, fixture.dimension],
      data: Float32Array.from(fixture.table),
    });
    const output = createTensor({ shape: [tokens.length, fixture.dimension] });
    embeddingForward({ table, tokens, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-7);
    const tableGradient = createTensor({ shape: table.shape });
    const outputGradient = createTensor({ shape: output.shape, data: Float32Array.from(fixture.outputGradient) });
    embeddingBackward({ tokens, outputGradient, tableGradient });
    expect(scaledMaxError(tableGradient.data, fixture.tableGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const tokens = Int32Array.from([2, 0, 2, 4]);
    const table = createTensor({ shape: [5, 3], data: pseudoRandom(15, 1) });
    const output = createTensor({ shape: [4, 3] });
    const weights = pseudoRandom(12, 2);
    const tableGradient = createTensor({ shape: [5, 3] });
    embeddingBackward({ tokens, outputGradient: createTensor({ shape: [4, 3], data: weights }), tableGradient });
    const loss = () => {
      embeddingForward({ table, tokens, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: table.data, analytic: tableGradient.data, loss })).toBeLessThan(1e-3);
  });

  it("rejects a token outside the vocabulary, naming its position", () => {
    const table = createTensor({ shape: [5, 3] });
    const output = createTensor({ shape: [2, 3] });
    expect(() => embeddingForward({ table, tokens: Int32Array.from([1, 5]), output })).toThrow(TokenRangeError);
    expect(() => embeddingForward({ table, tokens: Int32Array.from([1, 5]), output })).toThrow(/position 1/);
  });
});
