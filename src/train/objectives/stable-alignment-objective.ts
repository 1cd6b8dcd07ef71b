/**
 * The Stable Alignment objective (SPEC 3): SFT on the best-rated response plus a penalty for every
 * other response the model finds nearly as likely as its rating gap allows.
 *   d_i = L_b - L_i + (r_b - r_i) / R * M   for i != b
 *   L = L_b + lambda * max(mean_i d_i, 0)   (or max_i d_i with max flow)
 * The gap is taken against the best response by rating, never by list position (the reference
 * code's indexing defect). A prompt with one response trains the SFT term alone.
 */
import { bestIndex, type ObjectiveValue, type RatedResponse } from "./rated-response.js";

/** Settings of the objective; defaults are the reference model card's. */
export interface StableAlignmentSettings {
  /** M: the margin the rating gap is scaled to. Default 1. */
  margin?: number;
  /** lambda: weight of the penalty term. Default 0.2. */
  ratio?: number;
  /** R: the rating scale's maximum. Default 7. */
  ratingScale?: number;
  /** Aggregate the differences by their maximum instead of their mean. Default false (mean flow). */
  maxFlow?: boolean;
}

/**
 * The loss on one prompt's (already sampled) responses. At a kink (aggregate exactly 0) the penalty's
 * gradient is 0, as for ReLU in PyTorch. Throws RangeError for an empty list (a caller bug).
 */
export function stableAlignmentObjective({
  responses,
  margin = 1,
  ratio = 0.2,
  ratingScale = 7,
  maxFlow = false,
}: StableAlignmentSettings & { responses: readonly RatedResponse[] }): ObjectiveValue {
  if (responses.length === 0) throw new RangeError("stable-alignment needs at least one response");
  const best = bestIndex(responses);
  const bestResponse = responses[best] as RatedResponse;
  const gradients = responses.map((_, index): number => (index === best ? 1 : 0));
  if (responses.length === 1)
    return { loss: bestResponse.meanNll, gradients, terms: { sft: bestResponse.meanNll, penalty: 0 } };
  const others: number[] = [];
  const differences: number[] = [];
  for (const [index, response] of responses.entries()) {
    if (index === best) continue;
    others.push(index);
    differences.push(
      bestResponse.meanNll - response.meanNll + ((bestResponse.rating - response.rating) / ratingScale) * margin,
    );
  }
  let aggregate: number;
  let argmax = 0;
  if (maxFlow) {
    for (let index = 1; index < differences.length; index += 1) {
      if ((differences[index] as number) > (differences[argmax] as number)) argmax = index;
    }
    aggregate = differences[argmax] as number;
  } else {
    aggregate = differences.reduce((sum, value) => sum + value, 0) / differences.length;
  }
  const penalty = Math.max(aggregate, 0);
  if (aggregate > 0) {
    // Every d_i carries +L_b, so the penalty's derivative in L_b is lambda under either aggregate.
    gradients[best] = 1 + ratio;
    if (maxFlow) {
      gradients[others[argmax] as number] = -ratio;
    } else {
      for (const index of others) gradients[index] = -ratio / others.length;
    }
  }
  return { loss: bestResponse.meanNll + ratio * penalty, gradients, terms: { sft: bestResponse.meanNll, penalty } };
}
