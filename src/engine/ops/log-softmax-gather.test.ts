import { describe, expect, it } from "vitest";
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

describe.each(testBackends())("log-softmax gather on $name", (backend) => {
  const { tensor } = backend;
  it("matches the PyTorch fixture", () => {
    const fixture = readFixture<GatherFixture>("src/engine", "log-softmax-gather");
    const logits = tensor([fixture.rows, fixture.vocabularySize], fixture.logits);
    const targets = backend.int32(fixture.targets);
    const output = backend.float32(fixture.rows);
    logSoftmaxGatherForward({ logits, targets, output });
    expect(scaledMaxError(output, fixture.output)).toBeLessThan(1e-6);
    const outputGradient = backend.float32(fixture.outputGradient);
    logSoftmaxGatherBackward({ probabilities: logits, targets, outputGradient, logitsGradient: logits });
    expect(scaledMaxError(logits.data, fixture.logitsGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const values = pseudoRandom(4 * 6, 41, 2);
    const logits = tensor([4, 6], values);
    const probabilities = tensor([4, 6]);
    const targets = backend.int32([5, 0, -1, 3]);
    const output = backend.float32(4);
    const weights = pseudoRandom(4, 42);
    logSoftmaxGatherForward({ logits, targets, output, probabilities });
    const gradient = tensor([4, 6]);
    logSoftmaxGatherBackward({ probabilities, targets, outputGradient: weights, logitsGradient: gradient });
    const loss = () => {
      logSoftmaxGatherForward({ logits, targets, output, probabilities });
      return weightedSum(output, weights);
    };
    expect(finiteDifferenceError({ values: logits.data, analytic: gradient.data, loss })).toBeLessThan(1e-3);
    expect(output[2]).toBe(0);
  });
});
