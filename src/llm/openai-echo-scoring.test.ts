import { describe, expect, it } from "vitest";
import { echoScoringBody, readEchoScores } from "./openai-echo-scoring.js";

/** A choice as vLLM writes it: first logprob null, offsets summing decoded token lengths, one generated token. */
function choice(index: number, tokens: string[], logprobs: (number | null)[]) {
  const offsets: number[] = [];
  let offset = 0;
  for (const token of tokens) {
    offsets.push(offset);
    offset += token.length;
  }
  return {
    index,
    text: tokens.slice(1).join(""),
    logprobs: { tokens, token_logprobs: logprobs, text_offset: offsets, top_logprobs: tokens.map(() => null) },
    finish_reason: "length",
  };
}

describe("echo scoring", () => {
  it("asks for the prompts echoed with log-probabilities and one generated token", () => {
    expect(echoScoringBody({ model: "m", context: "Q:", continuations: [" a", " b"] })).toEqual({
      model: "m",
      prompt: ["Q: a", "Q: b"],
      echo: true,
      logprobs: 0,
      max_tokens: 1,
      temperature: 0,
    });
  });

  it("reads the continuation's tokens from the end, across a BOS that shifts the offsets", () => {
    const json = {
      choices: [
        // Out of order on purpose: `index` names the prompt.
        choice(1, ["<s>", "The", " quick", " dog", " ran"], [null, -1, -2, -4, -0.5]),
        choice(0, ["<s>", "The", " quick", " fox", " jumps", "."], [null, -1, -2, -3, -0.25, -0.1]),
      ],
      usage: { prompt_tokens: 8, completion_tokens: 2 },
    };
    expect(readEchoScores({ json, continuations: [" fox jumps", " dog"] })).toEqual([
      { valid: true, logProbability: -3.25, tokenLogProbabilities: [-3, -0.25], tokenCount: 2 },
      { valid: true, logProbability: -4, tokenLogProbabilities: [-4], tokenCount: 1 },
    ]);
  });

  it("still reads an answer that carries no generated token", () => {
    const json = { choices: [choice(0, ["The", " quick", " fox"], [null, -2, -3])] };
    expect(readEchoScores({ json, continuations: [" fox"] })?.[0]).toMatchObject({ valid: true, logProbability: -3 });
  });

  it("says invalid when a token straddles the context's end or a character is split", () => {
    const straddle = { choices: [choice(0, ["The", " qu", "ick", " fox", "!"], [null, -1, -1, -1, -1])] };
    expect(readEchoScores({ json: straddle, continuations: ["uick fox"] })?.[0]).toMatchObject({ valid: false });
    // An emoji split over two byte tokens decodes as two replacement characters: the texts do not
    // spell the continuation, so no number is given.
    const split = { choices: [choice(0, ["Hi", " \uFFFD", "\uFFFD", "!"], [null, -1, -1, -1])] };
    expect(readEchoScores({ json: split, continuations: [" 🙂"] })?.[0]).toMatchObject({ valid: false });
  });

  it("says invalid for an unconditioned first token, a missing value or the -9999 clamp", () => {
    const first = { choices: [choice(0, ["The", " fox", "!"], [null, -1, -1])] };
    expect(readEchoScores({ json: first, continuations: ["The fox"] })?.[0]).toMatchObject({ valid: false });
    const missing = { choices: [choice(0, ["The", " fox", "!"], [null, null, -1])] };
    expect(readEchoScores({ json: missing, continuations: [" fox"] })?.[0]).toMatchObject({ valid: false });
    const clamped = { choices: [choice(0, ["The", " fox", "!"], [null, -9999, -1])] };
    expect(readEchoScores({ json: clamped, continuations: [" fox"] })?.[0]).toMatchObject({ valid: false });
    expect(
      readEchoScores({ json: { choices: [choice(0, ["a", "b"], [null, -1])] }, continuations: ["b", "c"] })?.[1],
    ).toEqual({
      valid: false,
      reason: "the answer has no choice 1",
    });
  });

  it("returns undefined for an answer without the echo shape", () => {
    expect(readEchoScores({ json: { choices: [{ text: "hi" }] }, continuations: ["x"] })).toBeUndefined();
    expect(readEchoScores({ json: {}, continuations: ["x"] })).toBeUndefined();
  });
});
