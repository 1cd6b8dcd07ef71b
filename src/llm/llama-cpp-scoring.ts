/**
 * Likelihood scoring on llama.cpp: teacher-forced next-token distributions on one context sequence,
 * with continuations aligned to the context's end by the model layer's rules (a straddling token is
 * invalid, not a number).
 */
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import {
  type AlignmentTokenizer,
  continuationScore,
  type planScoring,
} from "../model/generation/score-continuations.js";
import type { ContinuationScore, ScoreResult } from "../spec/scoring.js";

/** llama.cpp's tokenizer in the shape continuation alignment needs (BOS as the model wants it). */
export function alignmentTokenizer(model: LlamaModel): AlignmentTokenizer {
  const bos = model.tokens.bos;
  return {
    bosTokenId: bos ?? undefined,
    encode: (text, { addSpecialTokens = false } = {}) => {
      const tokens = text === "" ? [] : model.tokenize(text, false);
      return addSpecialTokens && model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
    },
    decode: (ids, { skipSpecialTokens = false } = {}) => model.detokenize(ids as Token[], !skipSpecialTokens),
  };
}

/**
 * Teacher-forced scoring on one sequence: the shared prefix once, then each continuation after it,
 * reading the probability of every counted token from llama.cpp's next-token distribution.
 */
export async function scoreOnSequence({
  sequence,
  plan,
  modelId,
}: {
  sequence: LlamaContextSequence;
  plan: ReturnType<typeof planScoring>;
  modelId: string;
}): Promise<ScoreResult> {
  await sequence.clearHistory();
  const shared = plan.shared as Token[];
  if (shared.length > 0) await sequence.evaluateWithoutGeneratingNewTokens(shared);
  let evaluatedTokens = shared.length;
  const scores: ContinuationScore[] = [];
  try {
    for (const entry of plan.aligned) {
      if (!("tokens" in entry)) {
        scores.push({ valid: false, reason: entry.problem });
        continue;
      }
      if (sequence.nextTokenIndex > shared.length) {
        await sequence.eraseContextTokenRanges([{ start: shared.length, end: sequence.nextTokenIndex }]);
      }
      const inputs = entry.tokens.slice(shared.length, -1).map((token, index) => {
        const position = shared.length + index;
        return position >= entry.start - 1
          ? ([token as Token, { generateNext: { probabilities: true } }] as [
              Token,
              { generateNext: { probabilities: true } },
            ])
          : (token as Token);
      });
      const outputs = await sequence.controlledEvaluate(inputs);
      evaluatedTokens += inputs.length;
      const tokenLogProbabilities: number[] = [];
      for (let position = entry.start; position < entry.tokens.length; position += 1) {
        const distribution = outputs[position - 1 - shared.length]?.next.probabilities;
        if (!distribution) throw new Error(`no probabilities at position ${position}`);
        tokenLogProbabilities.push(Math.log(distribution.get(entry.tokens[position] as Token) ?? 0));
      }
      scores.push(continuationScore(tokenLogProbabilities));
    }
  } finally {
    await sequence.clearHistory();
  }
  return { scores, usage: { promptTokens: evaluatedTokens, completionTokens: 0 }, modelId };
}
