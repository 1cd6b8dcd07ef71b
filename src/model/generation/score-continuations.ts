/**
 * Likelihood scoring of several continuations of one context with the inference decoder. Context and
 * continuation are tokenized together, as a server that echoes prompt log-probabilities does, and a
 * token counts when it starts at or after the context's end; a token straddling that boundary makes the
 * continuation's score invalid rather than a number that silently includes part of the context.
 */
import type { ContinuationScore } from "../../spec/scoring.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { InferenceDecoder } from "./inference-decoder.js";
import { logProbabilityOf } from "./sampler.js";

/** What alignment needs of a tokenizer (ours, or llama.cpp's through an adapter). */
export type AlignmentTokenizer = Pick<Tokenizer, "encode" | "decode" | "bosTokenId">;

/** The tokens of context + continuation and where the continuation's tokens start. */
export type AlignedContinuation = { tokens: number[]; start: number } | { problem: string };

/**
 * Tokenizes `context + continuation` (with the tokenizer's special tokens, e.g. BOS) and finds the first
 * continuation token: the one whose text starts exactly at the context's end. Returns a problem when a
 * token straddles the boundary, when the tokenizer does not reproduce the text, or when there is nothing
 * to condition the first token on.
 */
export function alignContinuation({
  tokenizer,
  context,
  continuation,
}: {
  tokenizer: AlignmentTokenizer;
  context: string;
  continuation: string;
}): AlignedContinuation {
  if (continuation === "") return { problem: "the continuation is empty" };
  let tokens = tokenizer.encode(context + continuation, { addSpecialTokens: true });
  const textOf = (count: number): string => tokenizer.decode(tokens.slice(0, count), { skipSpecialTokens: true });
  if (textOf(tokens.length) !== context + continuation) {
    return { problem: "the tokenizer does not reproduce the text, so the context's end cannot be placed" };
  }
  let start: number;
  const contextTokens = tokenizer.encode(context, { addSpecialTokens: true });
  if (contextTokens.every((token, index) => tokens[index] === token) && textOf(contextTokens.length) === context) {
    start = contextTokens.length;
  } else {
    // The joint tokenization differs near the boundary: walk forward until the decoded prefix reaches it.
    let shared = 0;
    while (shared < contextTokens.length && tokens[shared] === contextTokens[shared]) shared += 1;
    start = Math.max(0, shared - 1);
    let prefix = textOf(start);
    while (prefix.length < context.length && start < tokens.length) {
      start += 1;
      prefix = textOf(start);
    }
    if (prefix !== context) return { problem: "a token straddles the end of the context" };
  }
  if (start === tokens.length) return { problem: "the continuation has no tokens of its own" };
  if (start === 0) {
    if (tokenizer.bosTokenId === undefined) {
      return { problem: "the context is empty and the tokenizer has no BOS token to condition on" };
    }
    tokens = [tokenizer.bosTokenId, ...tokens];
    start = 1;
  }
  return { tokens, start };
}

/** A scoring plan: each continuation aligned (or why not) and the token prefix all of them share. */
export interface ScoringPlan {
  aligned: AlignedContinuation[];
  /**
   * Tokens every aligned sequence shares, stopping before the earliest token whose next-token
   * distribution is needed: evaluate these once, then the rest of each sequence after them.
   */
  shared: number[];
}

/** Aligns every continuation of `context`, refusing sequences longer than `maxPositions` tokens. */
export function planScoring({
  tokenizer,
  context,
  continuations,
  maxPositions,
}: {
  tokenizer: AlignmentTokenizer;
  context: string;
  continuations: readonly string[];
  maxPositions: number;
}): ScoringPlan {
  const aligned = continuations.map((continuation): AlignedContinuation => {
    const result = alignContinuation({ tokenizer, context, continuation });
    if ("tokens" in result && result.tokens.length > maxPositions) {
      return {
        problem: `context + continuation are ${result.tokens.length} tokens; the model's context is ${maxPositions}`,
      };
    }
    return result;
  });
  const sequences = aligned.filter((entry) => "tokens" in entry);
  const first = sequences[0];
  if (first === undefined) return { aligned, shared: [] };
  let shared = Math.min(...sequences.map((sequence) => sequence.start - 1));
  for (const sequence of sequences) {
    let index = 0;
    while (index < shared && sequence.tokens[index] === first.tokens[index]) index += 1;
    shared = index;
  }
  return { aligned, shared: first.tokens.slice(0, shared) };
}

/** The score of one aligned sequence from the log-probability of each of its counted tokens. */
export function continuationScore(tokenLogProbabilities: number[]): ContinuationScore {
  if (tokenLogProbabilities.some((value) => !Number.isFinite(value))) {
    return { valid: false, reason: "a token's probability underflowed to zero" };
  }
  const logProbability = tokenLogProbabilities.reduce((total, value) => total + value, 0);
  return { valid: true, logProbability, tokenLogProbabilities, tokenCount: tokenLogProbabilities.length };
}

/**
 * Scores each continuation of `context` under the decoder: one pass over the shared prefix, then the
 * rest of each sequence after it. Returns the scores in order and the number of tokens evaluated.
 */
export function scoreContinuations({
  decoder,
  tokenizer,
  context,
  continuations,
}: {
  decoder: InferenceDecoder;
  tokenizer: Tokenizer;
  context: string;
  continuations: readonly string[];
}): { scores: ContinuationScore[]; evaluatedTokens: number } {
  const { aligned, shared } = planScoring({
    tokenizer,
    context,
    continuations,
    maxPositions: decoder.config.maxPositions,
  });
  const capacity = Math.max(0, ...aligned.map((entry) => ("tokens" in entry ? entry.tokens.length : 0)));
  const session = decoder.createSession({ capacity: Math.max(1, capacity) });
  const vocabulary = decoder.config.vocabularySize;
  if (shared.length > 0) session.append(shared);
  let evaluatedTokens = shared.length;
  const scores = aligned.map((entry): ContinuationScore => {
    if (!("tokens" in entry)) return { valid: false, reason: entry.problem };
    session.truncate(shared.length);
    const logits = session.append(entry.tokens.slice(shared.length, -1), { allLogits: true });
    evaluatedTokens += entry.tokens.length - 1 - shared.length;
    const tokenLogProbabilities: number[] = [];
    for (let position = entry.start; position < entry.tokens.length; position += 1) {
      const row = position - 1 - shared.length;
      tokenLogProbabilities.push(
        logProbabilityOf(logits.subarray(row * vocabulary, (row + 1) * vocabulary), entry.tokens[position] as number),
      );
    }
    return continuationScore(tokenLogProbabilities);
  });
  return { scores, evaluatedTokens };
}
