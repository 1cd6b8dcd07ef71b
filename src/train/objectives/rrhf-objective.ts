/**
 * RRHF (Yuan et al.): a ranking loss on length-normalised log-likelihoods p_i = -meanNll_i, summed over
 * every pair with different ratings, plus SFT on the best response (weight 1):
 *   L = sum over r_i < r_j of max(0, p_i - p_j)  +  L_best
 */

import { preferencePairs } from "./dpo-objective.js";
import { bestIndex, type ObjectiveSkip, type ObjectiveValue, type RatedResponse } from "./rated-response.js";

/** RRHF on one prompt; a prompt with a single response is skipped (pairwise objective). */
export function rrhfObjective({ responses }: { responses: readonly RatedResponse[] }): ObjectiveValue | ObjectiveSkip {
  if (responses.length < 2) return { skip: "single response" };
  const best = bestIndex(responses);
  const gradients = responses.map((_, index): number => (index === best ? 1 : 0));
  let ranking = 0;
  for (const [better, worse] of preferencePairs({ responses, pairs: "all" })) {
    // p_worse - p_better = meanNll_better - meanNll_worse.
    const violation = (responses[better] as RatedResponse).meanNll - (responses[worse] as RatedResponse).meanNll;
    if (violation <= 0) continue;
    ranking += violation;
    gradients[better] = (gradients[better] as number) + 1;
    gradients[worse] = (gradients[worse] as number) - 1;
  }
  const sft = (responses[best] as RatedResponse).meanNll;
  return { loss: ranking + sft, gradients, terms: { sft, ranking } };
}
