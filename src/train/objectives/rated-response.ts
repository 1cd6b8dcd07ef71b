/**
 * What every training objective reads: for each response of one prompt, its rating and the model's
 * mean token negative log-likelihood of it (prompt tokens masked), and what every objective returns:
 * the loss and its gradient with respect to each response's mean NLL, which the model's
 * `backwardSequenceLosses` turns into parameter gradients.
 */
import { bestResponseIndex } from "../../data/alignment-example-reader.js";

/** One response of a prompt as an objective sees it. */
export interface RatedResponse {
  /** Rating on the data's scale (1-7 for SANDBOX data); higher is better. */
  rating: number;
  /** Mean negative log-likelihood per response token, in nats, under the model being trained. */
  meanNll: number;
  /** Response tokens the mean is over (at least 1). */
  tokenCount: number;
}

/** An objective's value on one prompt. */
export interface ObjectiveValue {
  /** The loss to minimise (nats). */
  loss: number;
  /** dLoss / dMeanNll for each response, in input order (0 for responses that do not enter). */
  gradients: number[];
  /** Named parts of the loss for metrics, e.g. `{ sft, penalty }`. */
  terms: Record<string, number>;
}

/** Why an objective has nothing to learn from a prompt (counted, never an error). */
export interface ObjectiveSkip {
  skip: string;
}

/** Index of the highest-rated response, the first one on ties (SPEC 3). */
export function bestIndex(responses: readonly RatedResponse[]): number {
  return bestResponseIndex(responses.map((response) => response.rating));
}
