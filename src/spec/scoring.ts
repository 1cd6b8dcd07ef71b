/**
 * Likelihood scoring: how probable a model finds each of several continuations of one context. The
 * training objectives, the likelihood benchmarks and preference accuracy all read these numbers.
 */
import type { TokenUsage } from "./token-usage.js";

/** Score every continuation of one context in one batched call. */
export interface ScoreRequest {
  /** Text the continuations follow; its tokens are conditioned on, never counted. */
  context: string;
  /** Texts scored as continuations of `context` (each independently), e.g. `" yes"`, `" no"`. */
  continuations: readonly string[];
  /** As for `generate`: part of the response-cache key. */
  callIdentity?: string;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/**
 * One continuation's score. A token counts when it starts at or after the context's end (character
 * offset in context + continuation). A token that straddles that boundary makes the result invalid:
 * the summed log-probability would include part of the context, so no number is given.
 */
export type ContinuationScore =
  | {
      valid: true;
      /** Sum of the counted tokens' natural-log probabilities. */
      logProbability: number;
      /** Natural-log probability of each counted token, in order. */
      tokenLogProbabilities: number[];
      /** Number of counted tokens (the length of `tokenLogProbabilities`). */
      tokenCount: number;
    }
  | { valid: false; reason: string };

/** The scores of one request, in the order of its continuations. */
export interface ScoreResult {
  scores: ContinuationScore[];
  /** Tokens evaluated (prompt side; no completion tokens are generated). */
  usage: TokenUsage;
  /** The model that scored (as the backend names it). */
  modelId: string;
  /** True when the response cache served this result and no model was called. */
  cached?: boolean;
}

/** Anything that can score continuations: a `LanguageModel` with scoring, or a test double. */
export interface Scorer {
  score(request: ScoreRequest): Promise<ScoreResult>;
}
