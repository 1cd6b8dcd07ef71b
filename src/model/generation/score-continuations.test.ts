import { describe, expect, it } from "vitest";
import { createBlas } from "../../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../__fixtures__/tiny-models.js";
import { createInferenceDecoder } from "./inference-decoder.js";
import { logProbabilityOf } from "./sampler.js";
import { alignContinuation, scoreContinuations } from "./score-continuations.js";

const blas = createBlas({ backend: "typescript" });
const tokenizer = testTokenizer();
const config = tinyConfig();
const decoder = createInferenceDecoder({ config, weights: randomWeights({ config, seed: 5, scale: 0.3 }), blas });

/** Log-probabilities of tokens[from...] by one plain forward pass over the whole sequence. */
function reference(tokens: number[], from: number): number[] {
  const session = decoder.createSession({ capacity: tokens.length });
  const logits = session.append(tokens.slice(0, -1), { allLogits: true });
  const vocabulary = config.vocabularySize;
  return tokens
    .slice(from)
    .map((token, index) =>
      logProbabilityOf(logits.subarray((from - 1 + index) * vocabulary, (from + index) * vocabulary), token),
    );
}

describe("alignContinuation", () => {
  it("starts the continuation at the first token after the context", () => {
    const aligned = alignContinuation({ tokenizer, context: "The quick brown", continuation: " fox" });
    expect(aligned).toEqual({ tokens: tokenizer.encode("The quick brown fox"), start: 12 });
  });

  it("says invalid when a token straddles the context's end", () => {
    // "Ġfox" is one token: with the boundary inside it, no token starts at the context's end.
    expect(alignContinuation({ tokenizer, context: "The quick brown f", continuation: "ox" })).toEqual({
      problem: "a token straddles the end of the context",
    });
  });

  it("conditions on BOS when the context is empty, and refuses an empty continuation", () => {
    expect(alignContinuation({ tokenizer, context: "", continuation: "The" })).toEqual({
      tokens: [0, ...tokenizer.encode("The")],
      start: 1,
    });
    expect(alignContinuation({ tokenizer, context: "x", continuation: "" })).toEqual({
      problem: "the continuation is empty",
    });
  });
});

describe("scoreContinuations", () => {
  it("equals a plain forward pass per continuation, sharing the context's pass", () => {
    const context = "The quick brown";
    const continuations = [" fox", " fox jumps over", "ish quick", " f"];
    const { scores, evaluatedTokens } = scoreContinuations({ decoder, tokenizer, context, continuations });
    expect(scores).toHaveLength(4);
    for (const [index, continuation] of continuations.entries()) {
      const aligned = alignContinuation({ tokenizer, context, continuation });
      if (!("tokens" in aligned)) throw new Error(aligned.problem);
      const expected = reference(aligned.tokens, aligned.start);
      const score = scores[index];
      if (!score?.valid) throw new Error(`continuation ${index} invalid`);
      expect(score.tokenCount).toBe(expected.length);
      for (const [position, value] of expected.entries()) {
        expect(score.tokenLogProbabilities[position]).toBeCloseTo(value, 5);
      }
      expect(score.logProbability).toBeCloseTo(
        expected.reduce((sum, value) => sum + value, 0),
        4,
      );
    }
    // The shared context was evaluated once, not once per continuation.
    const separate = continuations.reduce((total, continuation) => {
      const aligned = alignContinuation({ tokenizer, context, continuation });
      return total + ("tokens" in aligned ? aligned.tokens.length - 1 : 0);
    }, 0);
    expect(evaluatedTokens).toBeLessThan(separate - 20);
  });

  it("gives invalid results as values beside valid ones", () => {
    const { scores } = scoreContinuations({
      decoder,
      tokenizer,
      context: "The quick brown f",
      continuations: ["ox", "", "ish"],
    });
    expect(scores[0]).toEqual({ valid: false, reason: "a token straddles the end of the context" });
    expect(scores[1]).toEqual({ valid: false, reason: "the continuation is empty" });
    expect(scores[2]?.valid).toBe(true);
  });
});
