import { describe, expect, it } from "vitest";
import {
  createTensor,
  logSoftmaxGatherBackward,
  logSoftmaxGatherForward,
  maskedCrossEntropyBackward,
  maskedCrossEntropyForward,
} from "../../engine/index.js";
import { testBackends } from "../../engine/testing/backends.js";
import { scaledMaxError } from "../../engine/testing/fixtures.js";
import { llamaPresets } from "./llama-config.js";
import { createLlamaModel } from "./llama-model.js";
import { scatterRows } from "./llama-packing.js";

describe("scatterRows", () => {
  it("moves packed rows to their batch rows in place and zeroes the rest", () => {
    const width = 2;
    // Three packed rows (10, 11), (20, 21), (30, 31) for batch rows 1, 2 and 4 of 6; rows 3..5 hold stale data.
    const data = Float32Array.from([10, 11, 20, 21, 30, 31, 9, 9, 9, 9, 9, 9]);
    scatterRows({ gradient: { shape: [6, width], data }, rowIndices: Int32Array.from([1, 2, 4]), count: 3 });
    expect([...data]).toEqual([0, 0, 10, 11, 20, 21, 0, 0, 30, 31, 0, 0]);
  });

  it("zeroes everything when no row has a target", () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    scatterRows({ gradient: { shape: [2, 2], data }, rowIndices: new Int32Array(2), count: 0 });
    expect([...data]).toEqual([0, 0, 0, 0]);
  });
});

describe.each(testBackends())("loss heads on target rows ($name)", ({ blas, memory }) => {
  // Two sequences of 12: a masked prompt, targets, then masked padding; the second has fewer targets.
  const sequenceLength = 12;
  const tokens = Int32Array.from({ length: 2 * sequenceLength }, (_, index) => (index * 37 + 5) % 256);
  const targets = Int32Array.from({ length: 2 * sequenceLength }, (_, index) => {
    const position = index % sequenceLength;
    const last = index < sequenceLength ? 10 : 7;
    return position >= 4 && position <= last ? (index * 53 + 11) % 256 : -1;
  });
  const distinct = { tokens, targets, batchSize: 2, sequenceLength };
  // Three responses to one prompt: 5 shared prompt positions (same tokens, no targets), then each
  // response's targets, and padding after the shorter ones.
  const sharedTokens = Int32Array.from({ length: 3 * sequenceLength }, (_, index) =>
    index % sequenceLength < 5 ? (index % sequenceLength) * 41 + 3 : (index * 29 + 7) % 256,
  );
  const sharedTargets = Int32Array.from({ length: 3 * sequenceLength }, (_, index) => {
    const position = index % sequenceLength;
    const last = [11, 8, 6][Math.floor(index / sequenceLength)] as number;
    return position >= 5 && position <= last ? (index * 61 + 13) % 256 : -1;
  });
  const shared = { tokens: sharedTokens, targets: sharedTargets, batchSize: 3, sequenceLength };
  const batch = distinct;
  const batches = [
    { what: "distinct prompts, trailing padding", batch: distinct, counts: [7, 4] },
    { what: "a shared prompt", batch: shared, counts: [7, 4, 2] },
  ];
  const gradientNames = [
    "model.embed_tokens.weight",
    "model.norm.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.1.mlp.down_proj.weight",
  ];

  /** The loss from forward()'s logits of every row, and its gradients, as the heads computed it before. */
  function fullLogitsReference(
    batch: typeof distinct,
    head: "loss" | "log-probabilities",
    outputGradient: Float32Array | number[],
  ) {
    const { targets, batchSize } = batch;
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 3 });
    const logits = model.forward(batch);
    const probabilities = createTensor({ shape: logits.shape, memory });
    let values: number[];
    if (head === "loss") {
      const sequenceLosses = new Float64Array(batchSize);
      const tokenCounts = new Int32Array(batchSize);
      const common = { targets, batchSize, tokenCounts };
      maskedCrossEntropyForward({ ...common, logits, sequenceLosses, probabilities });
      maskedCrossEntropyBackward({
        ...common,
        probabilities,
        sequenceLossGradients: outputGradient,
        logitsGradient: probabilities,
      });
      values = [...sequenceLosses, ...tokenCounts];
    } else {
      const output = new Float32Array(targets.length);
      logSoftmaxGatherForward({ logits, targets, output, probabilities });
      logSoftmaxGatherBackward({
        probabilities,
        targets,
        outputGradient: Float32Array.from(outputGradient),
        logitsGradient: probabilities,
      });
      values = [...output];
    }
    model.backward({ logitsGradient: probabilities });
    return { values, gradients: gradientNames.map((name) => model.gradient(name).data.slice()) };
  }

  it.each(batches)(
    "gives the per-sequence losses, counts and gradients of the full logits: $what",
    ({ batch, counts }) => {
      const lossGradients = [0.7, -1.3, 0.4].slice(0, batch.batchSize);
      const reference = fullLogitsReference(batch, "loss", lossGradients);
      const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 3 });
      const { losses, tokenCounts } = model.sequenceLosses(batch);
      expect([...tokenCounts]).toEqual(counts);
      expect(scaledMaxError(Float32Array.from(losses), reference.values.slice(0, batch.batchSize))).toBeLessThan(1e-6);
      expect(reference.values.slice(batch.batchSize)).toEqual(counts);
      model.backwardSequenceLosses({ lossGradients });
      gradientNames.forEach((name, index) => {
        const expected = reference.gradients[index] as Float32Array;
        expect(expected.some((value) => value !== 0)).toBe(true);
        expect(scaledMaxError(model.gradient(name).data, expected), name).toBeLessThan(1e-5);
      });
    },
  );

  it.each(batches)(
    "gives the log-probabilities (0 where masked) and gradients of the full logits: $what",
    ({ batch }) => {
      const { targets } = batch;
      const weights = Float32Array.from(targets, (target, row) => (target < 0 ? 5 : ((row % 5) - 2) / 3));
      const reference = fullLogitsReference(batch, "log-probabilities", weights);
      const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 3 });
      const logProbabilities = model.tokenLogProbabilities(batch);
      expect(scaledMaxError(logProbabilities, reference.values)).toBeLessThan(1e-6);
      targets.forEach((target, row) => {
        if (target < 0) expect(logProbabilities[row]).toBe(0);
        else expect(logProbabilities[row]).toBeLessThan(0);
      });
      model.backwardTokenLogProbabilities({ logProbabilityGradients: weights });
      gradientNames.forEach((name, index) => {
        expect(
          scaledMaxError(model.gradient(name).data, reference.gradients[index] as Float32Array),
          name,
        ).toBeLessThan(1e-5);
      });
    },
  );

  it("gives zero loss and zero gradients to a batch without targets", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 3 });
    const { losses, tokenCounts } = model.sequenceLosses({
      ...batch,
      targets: new Int32Array(targets.length).fill(-1),
    });
    expect([...losses, ...tokenCounts]).toEqual([0, 0, 0, 0]);
    model.backwardSequenceLosses({ lossGradients: [1, 1] });
    expect(model.gradients.every((value) => value === 0)).toBe(true);
  });

  it("needs forward()'s logits for a backward pass without a logits gradient", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 3 });
    model.sequenceLosses(batch);
    expect(() => model.backward()).toThrow(/forward\(\)/);
  });
});
