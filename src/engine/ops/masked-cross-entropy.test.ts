import { describe, expect, it } from "vitest";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom } from "../testing/gradient-check.js";
import { maskedCrossEntropyBackward, maskedCrossEntropyForward } from "./masked-cross-entropy.js";

interface CrossEntropyFixture {
  batchSize: number;
  sequenceLength: number;
  vocabularySize: number;
  logits: number[];
  targets: number[];
  sequenceLosses: number[];
  tokenCounts: number[];
  sequenceLossGradients: number[];
  logitsGradient: number[];
}

describe.each(testBackends())("masked cross-entropy on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture: per-sequence mean NLL, a fully masked sequence giving 0", () => {
    const fixture = readFixture<CrossEntropyFixture>("src/engine", "masked-cross-entropy");
    const rows = fixture.batchSize * fixture.sequenceLength;
    const logits = tensor([rows, fixture.vocabularySize], fixture.logits);
    const targets = backend.int32(fixture.targets);
    const sequenceLosses = new Float64Array(fixture.batchSize);
    const tokenCounts = new Int32Array(fixture.batchSize);
    maskedCrossEntropyForward({ logits, targets, batchSize: fixture.batchSize, sequenceLosses, tokenCounts });
    expect(scaledMaxError(sequenceLosses, fixture.sequenceLosses)).toBeLessThan(1e-6);
    expect(Array.from(tokenCounts)).toEqual(fixture.tokenCounts);
    maskedCrossEntropyBackward({
      probabilities: logits,
      targets,
      batchSize: fixture.batchSize,
      tokenCounts,
      sequenceLossGradients: fixture.sequenceLossGradients,
      logitsGradient: logits,
    });
    expect(scaledMaxError(logits.data, fixture.logitsGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const batchSize = 2;
    const values = pseudoRandom(6 * 5, 31, 2);
    const targets = backend.int32([1, -1, 4, 0, 2, 2]);
    const lossGradients = [0.3, -0.8];
    const sequenceLosses = new Float64Array(2);
    const tokenCounts = new Int32Array(2);
    const probabilities = tensor([6, 5]);
    const logits = tensor([6, 5], values);
    maskedCrossEntropyForward({ logits, targets, batchSize, sequenceLosses, tokenCounts, probabilities });
    const gradient = tensor([6, 5]);
    maskedCrossEntropyBackward({
      probabilities,
      targets,
      batchSize,
      tokenCounts,
      sequenceLossGradients: lossGradients,
      logitsGradient: gradient,
    });
    const loss = () => {
      maskedCrossEntropyForward({ logits, targets, batchSize, sequenceLosses, tokenCounts, probabilities });
      return 0.3 * (sequenceLosses[0] as number) - 0.8 * (sequenceLosses[1] as number);
    };
    expect(finiteDifferenceError({ values: logits.data, analytic: gradient.data, loss })).toBeLessThan(1e-3);
    expect(Array.from(gradient.data.subarray(5, 10))).toEqual([0, 0, 0, 0, 0]);
  });
});
