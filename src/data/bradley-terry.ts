/**
 * Bradley-Terry strengths of several models from pairwise comparisons, fitted by the MM algorithm
 * (Hunter 2004): pᵢ ← Wᵢ / Σⱼ nᵢⱼ / (pᵢ + pⱼ), strengths rescaled to sum to 1 after each step. A tie
 * counts as half a win for each side. Bootstrap intervals resample the comparisons (seeded).
 */
import { type BootstrapOptions, bootstrapIntervals } from "./statistics.js";

/** One comparison: `first` against `second`, from `first`'s side. */
export interface Comparison {
  first: string;
  second: string;
  outcome: "win" | "tie" | "loss";
}

/** A fit. */
export interface BradleyTerryFit {
  /** Models in the order given. */
  models: string[];
  /** Strength per model, summing to 1: the chance i beats j is pᵢ / (pᵢ + pⱼ). */
  strengths: number[];
  iterations: number;
  /**
   * False when the largest relative change of a strength was still above the tolerance after
   * `maxIterations`, or when a model's strength fell to 0 (a model that never lost or never won has
   * no finite maximum-likelihood strength).
   */
  converged: boolean;
}

/** Options of {@link fitBradleyTerry}. */
export interface BradleyTerryOptions {
  /** Every model to score (also those without comparisons, which keep NaN). */
  models: readonly string[];
  comparisons: readonly Comparison[];
  /** Stop when no strength changes by more than this, relative. Default 1e-10. */
  tolerance?: number;
  /** Default 10,000. */
  maxIterations?: number;
}

/** Fits the strengths; a model with no comparison gets NaN. */
export function fitBradleyTerry({
  models,
  comparisons,
  tolerance = 1e-10,
  maxIterations = 10_000,
}: BradleyTerryOptions): BradleyTerryFit {
  const index = new Map(models.map((model, position) => [model, position]));
  const size = models.length;
  const wins = new Float64Array(size);
  const games = Array.from({ length: size }, () => new Float64Array(size));
  for (const { first, second, outcome } of comparisons) {
    const i = index.get(first);
    const j = index.get(second);
    if (i === undefined || j === undefined) throw new RangeError(`comparison of unknown model ${first} or ${second}`);
    if (i === j) continue;
    (games[i] as Float64Array)[j] = ((games[i] as Float64Array)[j] as number) + 1;
    (games[j] as Float64Array)[i] = ((games[j] as Float64Array)[i] as number) + 1;
    const firstScore = outcome === "win" ? 1 : outcome === "tie" ? 0.5 : 0;
    wins[i] = (wins[i] as number) + firstScore;
    wins[j] = (wins[j] as number) + 1 - firstScore;
  }
  const played = Array.from({ length: size }, (_, i) => (games[i] as Float64Array).some((count) => count > 0));
  let strengths = Array.from({ length: size }, (_, i) => (played[i] ? 1 / size : Number.NaN));
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations += 1;
    const next = strengths.map((strength, i) => {
      if (!played[i]) return Number.NaN;
      let denominator = 0;
      for (let j = 0; j < size; j += 1) {
        const count = (games[i] as Float64Array)[j] as number;
        if (count > 0) denominator += count / (strength + (strengths[j] as number));
      }
      return (wins[i] as number) / denominator;
    });
    const total = next.reduce((sum, value) => (Number.isNaN(value) ? sum : sum + value), 0);
    const scaled = next.map((value) => value / total);
    let largest = 0;
    for (let i = 0; i < size; i += 1) {
      if (!played[i]) continue;
      const before = strengths[i] as number;
      const after = scaled[i] as number;
      largest = Math.max(largest, Math.abs(after - before) / Math.max(before, Number.MIN_VALUE));
    }
    strengths = scaled;
    converged = largest <= tolerance;
  }
  // A strength of exactly 0 is the limit of a model that never won: no finite fit exists.
  if (strengths.some((strength, i) => played[i] && !(strength > 0))) converged = false;
  return { models: [...models], strengths, iterations, converged };
}

/** One model's strength with its interval. */
export interface BradleyTerryScore {
  model: string;
  strength: number;
  lower: number;
  upper: number;
}

/** Most iterations of each bootstrap resample's fit (fewer when the caller's `maxIterations` is lower). */
const RESAMPLE_MAX_ITERATIONS = 2000;

/**
 * Fits the strengths and their percentile-bootstrap intervals (comparisons resampled with
 * replacement, seeded; defaults of statistics.ts). `converged` is the full sample's fit, which runs
 * up to `maxIterations` (default that of {@link fitBradleyTerry}); each resample's fit stops after
 * at most 2,000.
 */
export function bradleyTerryEstimate({
  models,
  comparisons,
  tolerance,
  maxIterations,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BradleyTerryOptions & BootstrapOptions): { scores: BradleyTerryScore[]; converged: boolean; confidence: number } {
  const fit = fitBradleyTerry({ models, comparisons, tolerance, maxIterations });
  const resampleMaxIterations = Math.min(maxIterations ?? RESAMPLE_MAX_ITERATIONS, RESAMPLE_MAX_ITERATIONS);
  const intervals = bootstrapIntervals({
    items: comparisons,
    statistic: (sample) =>
      fitBradleyTerry({ models, comparisons: sample, tolerance, maxIterations: resampleMaxIterations }).strengths,
    confidence,
    resamples,
    seed,
  });
  return {
    scores: models.map((model, i) => ({
      model,
      strength: fit.strengths[i] as number,
      lower: intervals.lower[i] as number,
      upper: intervals.upper[i] as number,
    })),
    converged: fit.converged,
    confidence,
  };
}
