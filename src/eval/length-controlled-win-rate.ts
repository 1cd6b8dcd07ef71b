/**
 * Length-controlled win rate (EVAL.md, after AlpacaEval): a logistic model of the preference on the
 * normalised length difference, predicted with the difference set to zero. With one comparison per
 * item the item term cannot be estimated, so this variant DROPS it: preference ~ intercept + slope *
 * tanh((length(first) - length(second)) / sd), with sd the standard deviation of the differences.
 * Both coefficients carry an L2 penalty (in log-likelihood units): the slope a tiny one (default
 * 0.01) that only keeps it finite when a judge follows length perfectly (separable outcomes), the
 * intercept a small one (default 1) that decides the otherwise undetermined intercept of separable
 * outcomes in favour of parity; with n comparisons it shrinks a real preference's log-odds by
 * about 1 / (1 + n p (1 - p)), e.g. 4% at n = 100 and p = 0.75. Ties count as half a
 * win (a fractional outcome of 0.5). The length-controlled rate is sigmoid(intercept); its interval
 * is a seeded percentile bootstrap over the items, refitting each resample.
 */

import { type Estimate, type PairwiseOutcome, quantile } from "../data/statistics.js";
import { createRandom } from "../engine/random.js";

/** One comparison: the outcome for the first answer and both answers' lengths (characters). */
export interface LengthComparison {
  outcome: PairwiseOutcome;
  firstLength: number;
  secondLength: number;
}

/** The fitted model and the controlled rate. */
export interface LengthControlledWinRate extends Estimate {
  /** Fitted intercept (log-odds at equal length). */
  intercept: number;
  /** Fitted slope on tanh(normalised length difference). */
  slope: number;
}

const OUTCOME_VALUE: Record<PairwiseOutcome, number> = { win: 1, tie: 0.5, loss: 0 };

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

/** Fits intercept and slope by Newton's method on the penalised log-likelihood. */
function fitLogistic(
  features: readonly number[],
  targets: readonly number[],
  penalty: { intercept: number; slope: number },
): [number, number] {
  let intercept = 0;
  let slope = 0;
  for (let iteration = 0; iteration < 100; iteration += 1) {
    let gradientA = -penalty.intercept * intercept;
    let gradientB = -penalty.slope * slope;
    let hessianAA = penalty.intercept;
    let hessianAB = 0;
    let hessianBB = penalty.slope;
    for (let index = 0; index < features.length; index += 1) {
      const feature = features[index] as number;
      const probability = sigmoid(intercept + slope * feature);
      const residual = (targets[index] as number) - probability;
      const weight = probability * (1 - probability);
      gradientA += residual;
      gradientB += residual * feature;
      hessianAA += weight;
      hessianAB += weight * feature;
      hessianBB += weight * feature * feature;
    }
    const determinant = hessianAA * hessianBB - hessianAB * hessianAB;
    if (determinant <= 0) break;
    const stepA = (hessianBB * gradientA - hessianAB * gradientB) / determinant;
    const stepB = (hessianAA * gradientB - hessianAB * gradientA) / determinant;
    intercept += stepA;
    slope += stepB;
    if (Math.abs(stepA) + Math.abs(stepB) < 1e-10) break;
  }
  return [intercept, slope];
}

function features(comparisons: readonly LengthComparison[]): number[] {
  const differences = comparisons.map((comparison) => comparison.firstLength - comparison.secondLength);
  const average = differences.reduce((sum, value) => sum + value, 0) / Math.max(1, differences.length);
  const variance =
    differences.reduce((sum, value) => sum + (value - average) ** 2, 0) / Math.max(1, differences.length - 1);
  const deviation = Math.sqrt(variance);
  return differences.map((difference) => (deviation > 0 ? Math.tanh(difference / deviation) : 0));
}

/**
 * The length-controlled win rate of the first answers over `comparisons` (see the module comment).
 * `interceptPenalty` default 1, `slopePenalty` default 0.01; `resamples` default 500; `confidence` default 0.95; `seed` default 0. An empty
 * list gives NaN everywhere and count 0.
 */
export function lengthControlledWinRate({
  comparisons,
  interceptPenalty = 1,
  slopePenalty = 0.01,
  resamples = 500,
  confidence = 0.95,
  seed = 0,
}: {
  comparisons: readonly LengthComparison[];
  interceptPenalty?: number;
  slopePenalty?: number;
  resamples?: number;
  confidence?: number;
  seed?: number;
}): LengthControlledWinRate {
  const count = comparisons.length;
  const penalty = { intercept: interceptPenalty, slope: slopePenalty };
  if (count === 0) {
    return { value: Number.NaN, lower: Number.NaN, upper: Number.NaN, count, confidence, intercept: 0, slope: 0 };
  }
  const targets = comparisons.map((comparison) => OUTCOME_VALUE[comparison.outcome]);
  const [intercept, slope] = fitLogistic(features(comparisons), targets, penalty);
  const random = createRandom({ seed });
  const rates: number[] = [];
  for (let resample = 0; resample < resamples; resample += 1) {
    const drawn: LengthComparison[] = [];
    for (let draw = 0; draw < count; draw += 1) drawn.push(comparisons[random.nextInteger(count)] as LengthComparison);
    const [drawnIntercept] = fitLogistic(
      features(drawn),
      drawn.map((comparison) => OUTCOME_VALUE[comparison.outcome]),
      penalty,
    );
    rates.push(sigmoid(drawnIntercept));
  }
  rates.sort((left, right) => left - right);
  const tail = (1 - confidence) / 2;
  return {
    value: sigmoid(intercept),
    lower: quantile(rates, tail),
    upper: quantile(rates, 1 - tail),
    count,
    confidence,
    intercept,
    slope,
  };
}
