import { describe, expect, it } from "vitest";
import { TokenRangeError } from "../engine-errors.js";
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

describe.each(testBackends())("embedding on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture, repeated tokens accumulating", () => {
    const fixture = readFixture<EmbeddingFixture>("src/engine", "embedding");
    const tokens = backend.int32(fixture.tokens);
    const table = tensor([fixture.vocabularySize, fixture.dimension], fixture.table);
    const output = tensor([tokens.length, fixture.dimension]);
    embeddingForward({ table, tokens, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-7);
    const tableGradient = tensor(table.shape);
    const outputGradient = tensor(output.shape, fixture.outputGradient);
    embeddingBackward({ tokens, outputGradient, tableGradient });
    expect(scaledMaxError(tableGradient.data, fixture.tableGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const tokens = backend.int32([2, 0, 2, 4]);
    const table = tensor([5, 3], pseudoRandom(15, 1));
    const output = tensor([4, 3]);
    const weights = pseudoRandom(12, 2);
    const tableGradient = tensor([5, 3]);
    embeddingBackward({ tokens, outputGradient: tensor([4, 3], weights), tableGradient });
    const loss = () => {
      embeddingForward({ table, tokens, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: table.data, analytic: tableGradient.data, loss })).toBeLessThan(1e-3);
  });

  it("rejects a token outside the vocabulary, naming its position", () => {
    const table = tensor([5, 3]);
    const output = tensor([2, 3]);
    expect(() => embeddingForward({ table, tokens: backend.int32([1, 5]), output })).toThrow(TokenRangeError);
    expect(() => embeddingForward({ table, tokens: backend.int32([1, 5]), output })).toThrow(/position 1/);
  });
});
