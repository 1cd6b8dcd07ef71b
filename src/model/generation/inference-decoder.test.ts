import { describe, expect, it } from "vitest";
import { createBlas } from "../../engine/index.js";
import { createLlamaModel, llamaPresets } from "../llama/index.js";
import { trainingModelWeights } from "../llama-weights.js";
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
