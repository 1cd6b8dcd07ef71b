/**
 * Accounting of a Back-Scatter interaction: what each persisted step holds (text or rating, model,
 * calls, tokens and dollars) and the interaction's total usage.
 */
import type { RatingResult } from "../llm/ratings.js";
import type { LanguageModel, TokenUsage } from "../spec/language-model.js";

/** Calls, tokens and dollars of a step or an interaction (record field names). */
export interface StepUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

/** A persisted text step (draft, revision). */
export interface TextStep {
  text: string;
  model: string;
  usage: StepUsage;
}

/** A persisted rating step (observer or peer). Invalid: rating and reason null, `raw` the last reply. */
export interface RatingStep {
  valid: boolean;
  rating: number | null;
  reason: string | null;
  raw: string;
  attempts: number;
  model: string;
  usage: StepUsage;
}

/** A step's usage from a call's tokens; `price` in US dollars per million tokens. */
export function stepUsage(usage: TokenUsage, calls: number, price: { prompt: number; completion: number }): StepUsage {
  return {
    calls,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    cost_usd: (usage.promptTokens * price.prompt + usage.completionTokens * price.completion) / 1_000_000,
  };
}

/** A persisted rating step from a rating result. */
export function ratingStep(result: RatingResult, model: LanguageModel, usage: StepUsage): RatingStep {
  return result.valid
    ? {
        valid: true,
        rating: result.rating,
        reason: result.reason,
        raw: result.raw,
        attempts: result.attempts,
        model: model.modelId,
        usage,
      }
    : {
        valid: false,
        rating: null,
        reason: null,
        raw: result.raw,
        attempts: result.attempts,
        model: model.modelId,
        usage,
      };
}

/** The sum of the steps' usage (missing steps count nothing). */
export function interactionUsage(steps: readonly ({ usage: StepUsage } | undefined)[]): StepUsage {
  return steps.reduce<StepUsage>(
    (sum, step) => ({
      calls: sum.calls + (step?.usage.calls ?? 0),
      prompt_tokens: sum.prompt_tokens + (step?.usage.prompt_tokens ?? 0),
      completion_tokens: sum.completion_tokens + (step?.usage.completion_tokens ?? 0),
      cost_usd: sum.cost_usd + (step?.usage.cost_usd ?? 0),
    }),
    { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
  );
}
