import { describe, expect, it } from "vitest";
import { createTensor } from "../tensor.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { logSoftmaxGatherBackward, logSoftmaxGatherForward } from "./log-softmax-gather.js";

interface GatherFixture {
  rows: number;
  vocabularySize: number;
  logits: number[];
  targets: number[];
  output: number[];
  outputGradient: number[];
  logitsGradient: number[];
}

describe.each(testBackends())("log-softmax gather on $kind", () => {
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<GatherFixture>("src/engine", "log-softmax-gather");
    const logits = createTensor({
      shape: [fixture.rows, fixture.vocabularySize],
      data: Float32Array.from(fixture.logits),
    });
    const targets = Int32Array.from(fixture.targets);
    const output = new Float32Array(fixture.rows);
    logSoftmaxGatherForward({ logits, targets, output });
    expect(scaledMaxError(output, fixture.output)).toBeLessThan(1e-6);
    const outputGradient = Float32Array.from(fixture.outputGradient);
    logSoftmaxGatherBackward({ probabilities: logits, targets, outputGradient, logitsGradient: logits });
    expect(scaledMaxError(logits.data, fixture.logitsGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const values = pseudoRandom(4 * 6, 41, 2);
    const logits = createTensor({ shape: [4, 6], data: values });
    const probabilities = createTensor({ shape: [4, 6] });
    const targets = Int32Array.from([5, 0, -1, 3]);
    const output = new Float32Array(4);
    const weights = pseudoRandom(4, 42);
    logSoftmaxGatherForward({ logits, targets, output, probabilities });
    const gradient = createTensor({ shape: [4, 6] });
    logSoftmaxGatherBackward({ probabilities, targets, outputGradient: weights, logitsGradient: gradient });
    const loss = () => {
      logSoftmaxGatherForward({ logits, targets, output, probabilities });
      return weightedSum(output, weights);
    };
    expect(finiteDifferenceError({ values, analytic: gradient.data, loss })).toBeLessThan(1e-3);
    expect(output[2]).toBe(0);
  });
});
