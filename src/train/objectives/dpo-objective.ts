/**
 * DPO (Rafailov et al.): for a chosen/rejected pair with policy and reference log-likelihoods,
 *   z = beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r)))
 *   loss = -(1 - epsilon) * log sigmoid(z) - epsilon * log sigmoid(-z)      (epsilon: label smoothing)
 * Log-likelihoods are summed over the response's tokens. Pairs come from ratings: best- vs
 * worst-rated (default) or every pair with different ratings; the loss is their mean.
 */
import { bestIndex, type ObjectiveSkip, type ObjectiveValue, type RatedResponse } from "./rated-response.js";

/** A response with the reference model's summed log-likelihood of it (computed once, before training). */
export interface ReferencedResponse extends RatedResponse {
  /** Sum of the response tokens' log-probabilities under the reference (start) model, in nats. */
  referenceLogProbability: number;
}

/** Settings of the objective. */
export interface DpoSettings {
  /** beta: inverse temperature of the implicit reward. Default 0.1. */
  beta?: number;
  /** epsilon: label smoothing in [0, 0.5). Default 0. */
  labelSmoothing?: number;
  /** Which pairs a prompt gives. Default `best-worst`. */
  pairs?: "best-worst" | "all";
}

/**
 * The mean DPO loss over one prompt's pairs, with `rewardMargin` (mean z) and `accuracy` (share of
 * pairs with z > 0) as terms. A prompt with one response, or whose ratings all tie, is skipped.
 */
export function dpoObjective({
  responses,
  beta = 0.1,
  labelSmoothing = 0,
  pairs = "best-worst",
}: DpoSettings & { responses: readonly ReferencedResponse[] }): ObjectiveValue | ObjectiveSkip {
  if (responses.length < 2) return { skip: "single response" };
  const chosenRejected = preferencePairs({ responses, pairs });
  if (chosenRejected.length === 0) return { skip: "ratings all tie" };
  const gradients = responses.map(() => 0);
  let loss = 0;
  let margin = 0;
  let correct = 0;
  const share = 1 / chosenRejected.length;
  for (const [chosen, rejected] of chosenRejected) {
    const c = responses[chosen] as ReferencedResponse;
    const r = responses[rejected] as ReferencedResponse;
    const policyChosen = -c.meanNll * c.tokenCount;
    const policyRejected = -r.meanNll * r.tokenCount;
    const z = beta * (policyChosen - c.referenceLogProbability - (policyRejected - r.referenceLogProbability));
    loss += share * (-(1 - labelSmoothing) * logSigmoid(z) - labelSmoothing * logSigmoid(-z));
    margin += share * z;
    if (z > 0) correct += share;
    const dLossDz = -(1 - labelSmoothing) * sigmoid(-z) + labelSmoothing * sigmoid(z);
    // z rises with the chosen sum, whose derivative in the chosen mean NLL is -tokenCount.
    gradients[chosen] = (gradients[chosen] as number) + share * dLossDz * beta * -c.tokenCount;
    gradients[rejected] = (gradients[rejected] as number) + share * dLossDz * -beta * -r.tokenCount;
  }
  return { loss, gradients, terms: { dpo: loss, rewardMargin: margin, rewardAccuracy: correct } };
}

/** (chosen, rejected) index pairs: best vs worst, or every pair whose ratings differ (higher first). */
export function preferencePairs({
  responses,
  pairs,
}: {
  responses: readonly RatedResponse[];
  pairs: "best-worst" | "all";
}): [number, number][] {
  if (pairs === "best-worst") {
    const best = bestIndex(responses);
    let worst = 0;
    for (let index = 1; index < responses.length; index += 1) {
      if ((responses[index] as RatedResponse).rating < (responses[worst] as RatedResponse).rating) worst = index;
    }
    return (responses[best] as RatedResponse).rating > (responses[worst] as RatedResponse).rating
      ? [[best, worst]]
      : [];
  }
  const result: [number, number][] = [];
  for (let first = 0; first < responses.length; first += 1) {
    for (let second = first + 1; second < responses.length; second += 1) {
      const a = (responses[first] as RatedResponse).rating;
      const b = (responses[second] as RatedResponse).rating;
      if (a > b) result.push([first, second]);
      else if (b > a) result.push([second, first]);
    }
  }
  return result;
}

/** log(sigmoid(x)) without overflow. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
