import { describe, expect, it } from "vitest";
import { TokenRangeError } from "../engine-errors.js";
import { testBackends } from "../testing/backends.js";
import { scaledMaxError } from "../testing/fixtures.js";
import { pseudoRandom } from "../testing/gradient-check.js";
import { maskedCrossEntropyBackward, maskedCrossEntropyForward } from "./masked-cross-entropy.js";
import {
  type ChunkedCrossEntropyState,
  chunkedCrossEntropyBackward,
  chunkedCrossEntropyForward,
} from "./vocabulary-chunked-cross-entropy.js";

const batchSize = 2;
const length = 4;
const rows = batchSize * length;
const dimension = 6;
const vocabularySize = 11;
// Row 1 masked; the second sequence has one target only.
const targetValues = [3, -1, 10, 0, -1, -1, 7, -1];
const lossGradients = [0.7, -1.3];

describe.each(testBackends())("vocabulary-chunked cross-entropy on $name", (backend) => {
  const { tensor, blas } = backend;

  /** Logits in full, then the fixture-tested masked cross-entropy: the reference the chunks must match. */
  function reference() {
    const hidden = pseudoRandom(rows * dimension, 41, 2);
    const weight = pseudoRandom(vocabularySize * dimension, 42, 2);
    const logits = tensor([rows, vocabularySize]);
    const hiddenTensor = tensor([rows, dimension], hidden);
    const weightTensor = tensor([vocabularySize, dimension], weight);
    blas.matrixMultiply({
      transposeB: true,
      m: rows,
      n: vocabularySize,
      k: dimension,
      a: hiddenTensor.data,
      lda: dimension,
      b: weightTensor.data,
      ldb: dimension,
      c: logits.data,
      ldc: vocabularySize,
    });
    const targets = backend.int32(targetValues);
    const sequenceLosses = new Float64Array(batchSize);
    const tokenCounts = new Int32Array(batchSize);
    maskedCrossEntropyForward({ logits, targets, batchSize, sequenceLosses, tokenCounts });
    maskedCrossEntropyBackward({
      probabilities: logits,
      targets,
      batchSize,
      tokenCounts,
      sequenceLossGradients: lossGradients,
      logitsGradient: logits,
    });
    const hiddenGradient = new Float32Array(rows * dimension);
    const weightGradient = new Float32Array(vocabularySize * dimension);
    for (let row = 0; row < rows; row++) {
      for (let token = 0; token < vocabularySize; token++) {
        const gradient = logits.data[row * vocabularySize + token] as number;
        for (let column = 0; column < dimension; column++) {
          hiddenGradient[row * dimension + column] =
            (hiddenGradient[row * dimension + column] as number) +
            gradient * (weight[token * dimension + column] as number);
          weightGradient[token * dimension + column] =
            (weightGradient[token * dimension + column] as number) +
            gradient * (hidden[row * dimension + column] as number);
        }
      }
    }
    return { hidden, weight, sequenceLosses, tokenCounts, hiddenGradient, weightGradient };
  }

  function chunkedState(chunkSize: number, hidden: Float32Array, weight: Float32Array): ChunkedCrossEntropyState {
    return {
      blas,
      hidden: tensor([rows, dimension], hidden),
      weight: tensor([vocabularySize, dimension], weight),
      targets: backend.int32(targetValues),
      batchSize,
      scratch: backend.float32(rows * Math.min(chunkSize, vocabularySize)),
      chunkSize,
      logSumExp: new Float64Array(rows),
    };
  }

  it("gives the unchunked losses and gradients for chunks of 1, 4 (not dividing the vocabulary), 11 and 64", () => {
    const expected = reference();
    expect(Array.from(expected.tokenCounts)).toEqual([3, 1]);
    for (const chunkSize of [1, 4, 11, 64]) {
      const state = chunkedState(chunkSize, expected.hidden, expected.weight);
      const sequenceLosses = new Float64Array(batchSize);
      const tokenCounts = new Int32Array(batchSize);
      chunkedCrossEntropyForward(state, { sequenceLosses, tokenCounts });
      expect(Array.from(tokenCounts)).toEqual([3, 1]);
      expect(scaledMaxError(sequenceLosses, Array.from(expected.sequenceLosses))).toBeLessThan(1e-6);
      const hiddenGradient = tensor([rows, dimension]);
      hiddenGradient.data.fill(0.25); // accumulates
      const weightGradient = tensor([vocabularySize, dimension]);
      chunkedCrossEntropyBackward(state, {
        tokenCounts,
        sequenceLossGradients: lossGradients,
        hiddenGradient,
        weightGradient,
      });
      const shifted = Array.from(expected.hiddenGradient, (value) => value + 0.25);
      expect(scaledMaxError(hiddenGradient.data, shifted)).toBeLessThan(1e-5);
      expect(scaledMaxError(weightGradient.data, Array.from(expected.weightGradient))).toBeLessThan(1e-5);
      expect(weightGradient.data.some((value) => value !== 0)).toBe(true);
    }
  });

  it("refuses a target outside the vocabulary and a scratch smaller than rows x chunk, in one line", () => {
    const { hidden, weight } = reference();
    const output = { sequenceLosses: new Float64Array(batchSize), tokenCounts: new Int32Array(batchSize) };
    const state = chunkedState(4, hidden, weight);
    state.targets[2] = vocabularySize;
    expect(() => chunkedCrossEntropyForward(state, output)).toThrow(TokenRangeError);
    expect(() => chunkedCrossEntropyForward({ ...chunkedState(4, hidden, weight), chunkSize: 5 }, output)).toThrow(
      /^chunked cross-entropy: scratch holds 32 floats, needs rows x chunkSize = 40$/,
    );
  });
});
