import { describe, expect, it } from "vitest";
import { createBlas } from "../../engine/index.js";
import { randomWeights, tinyConfig } from "../__fixtures__/tiny-models.js";
import { createLlamaModel, llamaPresets } from "../llama/index.js";
import { copyWeightsIntoModel, trainingModelWeights } from "../llama-weights.js";
import { createInferenceDecoder } from "./inference-decoder.js";

const blas = createBlas({ backend: "typescript" });

function maximumDifference(first: Float32Array, second: Float32Array): number {
  expect(first.length).toBe(second.length);
  let worst = 0;
  for (let index = 0; index < first.length; index++) {
    worst = Math.max(worst, Math.abs((first[index] as number) - (second[index] as number)));
  }
  return worst;
}

describe("createInferenceDecoder", () => {
  const config = { ...llamaPresets.tiny, maxPositions: 128 };
  const model = createLlamaModel({ config, blas, seed: 7, initializerRange: 0.2 });
  const tokens = Array.from({ length: 70 }, (_, index) => (index * 37 + 11) % config.vocabularySize);
  const reference = model.forward({
    tokens: Int32Array.from(tokens),
    batchSize: 1,
    sequenceLength: tokens.length,
  }).data;
  const decoder = createInferenceDecoder({ config, weights: trainingModelWeights(model), blas });

  it("gives the training decoder's logits at every position in one pass (blocks of 64 across the cache)", () => {
    const logits = decoder.createSession().append(tokens, { allLogits: true });
    expect(maximumDifference(logits, reference)).toBeLessThan(1e-5);
  });

  it("gives the same logits one token at a time through the key/value cache", () => {
    const session = decoder.createSession({ capacity: 80 });
    const logits = new Float32Array(reference.length);
    for (const [position, token] of tokens.entries()) {
      logits.set(session.append([token]), position * config.vocabularySize);
    }
    expect(session.length).toBe(70);
    expect(maximumDifference(logits, reference)).toBeLessThan(1e-5);
  });

  it("reuses a truncated prefix and refuses to overflow its capacity", () => {
    const session = decoder.createSession({ capacity: 70 });
    session.append(tokens.slice(0, 50));
    session.truncate(40);
    const last = session.append(tokens.slice(40, 70));
    expect(maximumDifference(last, reference.subarray(69 * config.vocabularySize))).toBeLessThan(1e-5);
    expect(() => session.append([1])).toThrow(/exceed the session capacity of 70/);
    expect(() => decoder.createSession().append([config.vocabularySize])).toThrow(/outside the vocabulary/);
  });
});

describe.each([
  { family: "qwen2", queryKeyValueBias: true, tieWordEmbeddings: true },
  { family: "mistral", queryKeyValueBias: false, tieWordEmbeddings: false },
] as const)("training and inference decoders on a $family checkpoint", (shape) => {
  it("agree on every logit (biases applied the same way by both)", () => {
    const config = tinyConfig({ ...shape, maxPositions: 64 });
    const weights = randomWeights({ config, seed: 11 });
    const training = createLlamaModel({ config, blas });
    copyWeightsIntoModel({ model: training, weights });
    const tokens = Array.from({ length: 20 }, (_, index) => (index * 53 + 7) % config.vocabularySize);
    const reference = training
      .forward({ tokens: Int32Array.from(tokens), batchSize: 1, sequenceLength: 20 })
      .data.slice();
    const decoder = createInferenceDecoder({ config, weights, blas });
    expect(maximumDifference(decoder.createSession().append(tokens, { allLogits: true }), reference)).toBeLessThan(
      1e-5,
    );
    if (shape.queryKeyValueBias) {
      // Both read the biases: zeroing them changes the training decoder's logits by far more than that.
      for (const entry of training.layout) if (entry.kind === "bias") training.parameter(entry.name).data.fill(0);
      const unbiased = training.forward({ tokens: Int32Array.from(tokens), batchSize: 1, sequenceLength: 20 }).data;
      expect(maximumDifference(unbiased, reference)).toBeGreaterThan(1e-2);
    }
  });
});
