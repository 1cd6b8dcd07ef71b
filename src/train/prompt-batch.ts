/**
 * One prompt's responses as one model batch: each sequence is the prompt's window followed by a
 * response, right-padded; targets are the next tokens of the response only (prompt and padding masked).
 */
import type { TargetBatch } from "../model/llama/index.js";
import { promptWindow, type TrainingPrompt } from "./training-examples.js";

/** Sequences are padded to a multiple of this many positions, so few distinct shapes reach the model. */
const LENGTH_QUANTUM = 8;

/** The batch of `responses` (indices into the prompt's responses) at `maxLength` tokens per sequence. */
export function promptBatch({
  prompt,
  responses,
  maxLength,
  padTokenId = 0,
}: {
  prompt: TrainingPrompt;
  responses: readonly number[];
  maxLength: number;
  /** Token id written into padding positions (their targets are masked). Default 0. */
  padTokenId?: number;
}): TargetBatch {
  const sequences = responses.map((index) => {
    const response = prompt.responses[index];
    if (response === undefined) throw new RangeError(`prompt at line ${prompt.line} has no response ${index}`);
    const window = promptWindow({
      promptTokens: prompt.promptTokens,
      responseLength: response.tokens.length,
      maxLength,
    });
    return { tokens: [...window, ...response.tokens], promptLength: window.length };
  });
  const longest = Math.max(...sequences.map((sequence) => sequence.tokens.length - 1));
  const sequenceLength = Math.min(Math.ceil(longest / LENGTH_QUANTUM) * LENGTH_QUANTUM, maxLength - 1);
  const batchSize = sequences.length;
  const tokens = new Int32Array(batchSize * sequenceLength).fill(padTokenId);
  const targets = new Int32Array(batchSize * sequenceLength).fill(-1);
  for (const [row, sequence] of sequences.entries()) {
    const offset = row * sequenceLength;
    for (let position = 0; position < sequence.tokens.length - 1; position += 1) {
      tokens[offset + position] = sequence.tokens[position] as number;
      // Position p predicts token p + 1; only response tokens are targets.
      if (position + 1 >= sequence.promptLength) targets[offset + position] = sequence.tokens[position + 1] as number;
    }
  }
  return { tokens, targets, batchSize, sequenceLength };
}
