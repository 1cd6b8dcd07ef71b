/**
 * Honest numbers for training and evaluation: seeded percentile-bootstrap intervals of a mean, of a
 * paired difference over the same items, and of a pairwise win rate with ties. Every function is
 * deterministic for a given seed, so a recomputed report is byte-identical.
 */
import { createRandom } from "../engine/random.js";

/** A point estimate with its bootstrap interval. */
export interface Estimate {
  /** The statistic on the full sample. */
  value: number;
  /** Lower end of the interval. */
  lower: number;
  /** Upper end of the interval. */
  upper: number;
  /** Number of items the statistic is computed over. */
  count: number;
  /** Interval coverage, e.g. 0.95. */
  confidence: number;
}

/** Options shared by every bootstrap. */
export interface BootstrapOptions {
  /** Interval coverage in (0, 1). Default 0.95. */
  confidence?: number;
  /** Number of bootstrap resamples. Default 2000. */
  resamples?: number;
  /** Seed of the resampling generator. Default 0. */
  seed?: number;
}

/**
 * The `probability` quantile of ascending `sorted` values with linear interpolation between order
 * statistics (Hyndman-Fan type 7, the default of R and NumPy).
 */
export function quantile(sorted: readonly number[], probability: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of an empty sample");
  if (!(probability >= 0 && probability <= 1)) throw new RangeError(`probability ${probability} is not in [0, 1]`);
  const position = (sorted.length - 1) * probability;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}

/** Arithmetic mean; NaN for an empty sample. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * Percentile-bootstrap interval of the mean of `values` (each resample draws `values.length` items
 * with replacement). An empty sample gives NaN everywhere and count 0.
 */
export function bootstrapMean({
  values,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BootstrapOptions & { values: readonly number[] }): Estimate {
  return bootstrapStatistic({ values, confidence, resamples, seed });
}

/**
 * Paired bootstrap of the mean difference `left[i] - right[i]` over the same items (both arrays
 * indexed by item): the items are resampled together, so per-item difficulty cancels out.
 * Throws when the arrays differ in length (a bug in the caller: the items must be matched first).
 */
export function pairedBootstrapDifference({
  left,
  right,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BootstrapOptions & { left: readonly number[]; right: readonly number[] }): Estimate {
  if (left.length !== right.length) {
    throw new RangeError(`paired bootstrap needs matched items: ${left.length} left vs ${right.length} right`);
  }
  const differences = left.map((value, index) => value - (right[index] as number));
  return bootstrapStatistic({ values: differences, confidence, resamples, seed });
}

/** One pairwise comparison's outcome from the first model's side. */
export type PairwiseOutcome = "win" | "tie" | "loss";

/** A win rate with its counts. */
export interface WinRate extends Estimate {
  wins: number;
  ties: number;
  losses: number;
}

/**
 * Win rate with ties counted as half a win: (wins + ties / 2) / n, with a percentile-bootstrap
 * interval over the items.
 */
export function winRate({
  outcomes,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BootstrapOptions & { outcomes: readonly PairwiseOutcome[] }): WinRate {
  let wins = 0;
  let ties = 0;
  let losses = 0;
  const values = outcomes.map((outcome) => {
    if (outcome === "win") {
      wins += 1;
      return 1;
    }
    if (outcome === "tie") {
      ties += 1;
      return 0.5;
    }
    losses += 1;
    return 0;
  });
  return { ...bootstrapStatistic({ values, confidence, resamples, seed }), wins, ties, losses };
}

function bootstrapStatistic({
  values,
  confidence,
  resamples,
  seed,
}: Required<BootstrapOptions> & { values: readonly number[] }): Estimate {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`resamples ${resamples} is not a positive integer`);
  const count = values.length;
  if (count === 0) return { value: Number.NaN, lower: Number.NaN, upper: Number.NaN, count, confidence };
  const random = createRandom({ seed });
  const means = new Float64Array(resamples);
  for (let resample = 0; resample < resamples; resample += 1) {
    let sum = 0;
    for (let draw = 0; draw < count; draw += 1) sum += values[random.nextInteger(count)] as number;
    means[resample] = sum / count;
  }
  means.sort();
  const sorted = Array.from(means);
  const tail = (1 - confidence) / 2;
  return { value: mean(values), lower: quantile(sorted, tail), upper: quantile(sorted, 1 - tail), count, confidence };
}

/** Percentile intervals of a vector-valued statistic, one entry per component. */
export interface BootstrapIntervals {
  lower: number[];
  upper: number[];
  /** Resamples whose statistic was finite, per component (the others are left out of its interval). */
  finite: number[];
}

/**
 * Percentile-bootstrap intervals of any statistic of a sample of items (kappa, alpha, Bradley-Terry
 * strengths): each resample draws `items.length` items with replacement and calls `statistic`, which
 * returns one number per component. A resample that gives NaN or an infinity for a component (a
 * degenerate sample, e.g. one category only) is left out of that component's interval.
 */
export function bootstrapIntervals<T>({
  items,
  statistic,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BootstrapOptions & {
  items: readonly T[];
  statistic: (sample: readonly T[]) => readonly number[];
}): BootstrapIntervals {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`resamples ${resamples} is not a positive integer`);
  const components = statistic(items).length;
  const draws: number[][] = Array.from({ length: components }, () => []);
  if (items.length > 0) {
    const random = createRandom({ seed });
    const sample: T[] = new Array(items.length);
    for (let resample = 0; resample < resamples; resample += 1) {
      for (let draw = 0; draw < items.length; draw += 1) sample[draw] = items[random.nextInteger(items.length)] as T;
      const values = statistic(sample);
      for (let component = 0; component < components; component += 1) {
        const value = values[component] as number;
        if (Number.isFinite(value)) draws[component]?.push(value);
      }
    }
  }
  const tail = (1 - confidence) / 2;
  const lower: number[] = [];
  const upper: number[] = [];
  for (const values of draws) {
    values.sort((a, b) => a - b);
    lower.push(values.length === 0 ? Number.NaN : quantile(values, tail));
    upper.push(values.length === 0 ? Number.NaN : quantile(values, 1 - tail));
  }
  return { lower, upper, finite: draws.map((values) => values.length) };
}
