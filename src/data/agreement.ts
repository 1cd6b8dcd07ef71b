/**
 * Inter-rater agreement: Fleiss' kappa on a nominal choice and Krippendorff's alpha (nominal or
 * ordinal), which allows missing ratings and a different number of raters per item, each with a
 * seeded bootstrap interval over items (statistics.ts). Pure functions: the human evaluation's admin
 * page and any report compute the same numbers.
 */
import { type BootstrapOptions, bootstrapIntervals, type Estimate } from "./statistics.js";

/** The ratings of one item (unit): one value per rater who rated it; missing ratings are simply absent. */
export type RatedUnit<T> = readonly T[];

/**
 * Fleiss' kappa of nominal ratings: (P̄ - Pₑ) / (1 - Pₑ), where P̄ is the mean share of agreeing
 * rater pairs per item and Pₑ the chance agreement from the pooled category shares. Fleiss defined it
 * for a fixed number of raters per item; with varying numbers each item's agreement uses its own
 * count and the category shares pool every rating. Items with fewer than two ratings are left out.
 * NaN when fewer than one item remains or every rating falls in one category (Pₑ = 1).
 */
export function fleissKappa({ units }: { units: readonly RatedUnit<string | number>[] }): number {
  const counted = units.filter((unit) => unit.length >= 2);
  if (counted.length === 0) return Number.NaN;
  const pooled = new Map<string | number, number>();
  let ratings = 0;
  let agreementSum = 0;
  for (const unit of counted) {
    const counts = new Map<string | number, number>();
    for (const value of unit) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      pooled.set(value, (pooled.get(value) ?? 0) + 1);
    }
    const raters = unit.length;
    let pairs = 0;
    for (const count of counts.values()) pairs += count * (count - 1);
    agreementSum += pairs / (raters * (raters - 1));
    ratings += raters;
  }
  const observed = agreementSum / counted.length;
  let expected = 0;
  for (const count of pooled.values()) expected += (count / ratings) ** 2;
  if (expected === 1) return Number.NaN;
  return (observed - expected) / (1 - expected);
}

/** The level of measurement of Krippendorff's alpha. */
export type AlphaLevel = "nominal" | "ordinal";

/**
 * Krippendorff's alpha, 1 - Dₒ / Dₑ, from the coincidence matrix: every ordered pair of ratings
 * within an item counts 1 / (mᵤ - 1), where mᵤ is that item's number of ratings; items with one rating
 * are not pairable and are left out. `level` "nominal" (default): the distance is 0 for equal values
 * and 1 otherwise; "ordinal": values are ranked numerically and the squared distance of c and k is
 * (Σ_{g=c..k} n_g - (n_c + n_k) / 2)², n_g being the marginal count of value g. NaN when no pair
 * exists or every pairable rating is the same value (Dₑ = 0).
 */
export function krippendorffAlpha({
  units,
  level = "nominal",
}: {
  units: readonly RatedUnit<string | number>[];
  level?: AlphaLevel;
}): number {
  const coincidences = new Map<string | number, Map<string | number, number>>();
  const add = (c: string | number, k: string | number, weight: number): void => {
    let row = coincidences.get(c);
    if (row === undefined) {
      row = new Map();
      coincidences.set(c, row);
    }
    row.set(k, (row.get(k) ?? 0) + weight);
  };
  for (const unit of units) {
    const pairable = unit.length;
    if (pairable < 2) continue;
    for (let first = 0; first < pairable; first += 1) {
      for (let second = 0; second < pairable; second += 1) {
        if (first !== second) add(unit[first] as string | number, unit[second] as string | number, 1 / (pairable - 1));
      }
    }
  }
  const values = [...coincidences.keys()];
  if (level === "ordinal") {
    for (const value of values) {
      if (typeof value !== "number") throw new RangeError(`ordinal alpha needs numeric ratings, got ${String(value)}`);
    }
    values.sort((a, b) => (a as number) - (b as number));
  }
  const marginal = new Map<string | number, number>();
  let total = 0;
  for (const [value, row] of coincidences) {
    let sum = 0;
    for (const weight of row.values()) sum += weight;
    marginal.set(value, sum);
    total += sum;
  }
  if (total === 0) return Number.NaN;
  const position = new Map(values.map((value, index) => [value, index]));
  const cumulative: number[] = [0];
  for (const value of values) cumulative.push((cumulative.at(-1) as number) + (marginal.get(value) as number));
  const squaredDistance = (c: string | number, k: string | number): number => {
    if (c === k) return 0;
    if (level === "nominal") return 1;
    const [low, high] = [position.get(c) as number, position.get(k) as number].sort((a, b) => a - b) as [
      number,
      number,
    ];
    const between = (cumulative[high + 1] as number) - (cumulative[low] as number);
    return (between - ((marginal.get(c) as number) + (marginal.get(k) as number)) / 2) ** 2;
  };
  let observed = 0;
  for (const [c, row] of coincidences) {
    for (const [k, weight] of row) observed += weight * squaredDistance(c, k);
  }
  let expected = 0;
  for (const c of values) {
    for (const k of values)
      expected += (marginal.get(c) as number) * (marginal.get(k) as number) * squaredDistance(c, k);
  }
  if (expected === 0) return Number.NaN;
  return 1 - observed / total / (expected / (total * (total - 1)));
}

/** An agreement statistic with its bootstrap interval over items; `count` is the number of pairable items. */
export type AgreementEstimate = Estimate;

/** Fleiss' kappa with a seeded percentile-bootstrap interval over items (defaults of statistics.ts). */
export function fleissKappaEstimate({
  units,
  ...options
}: BootstrapOptions & { units: readonly RatedUnit<string | number>[] }): AgreementEstimate {
  return estimate({ units, statistic: (sample) => fleissKappa({ units: sample }), ...options });
}

/** Krippendorff's alpha with a seeded percentile-bootstrap interval over items. */
export function krippendorffAlphaEstimate({
  units,
  level = "nominal",
  ...options
}: BootstrapOptions & { units: readonly RatedUnit<string | number>[]; level?: AlphaLevel }): AgreementEstimate {
  return estimate({ units, statistic: (sample) => krippendorffAlpha({ units: sample, level }), ...options });
}

function estimate({
  units,
  statistic,
  confidence = 0.95,
  resamples = 2000,
  seed = 0,
}: BootstrapOptions & {
  units: readonly RatedUnit<string | number>[];
  statistic: (sample: readonly RatedUnit<string | number>[]) => number;
}): AgreementEstimate {
  const pairable = units.filter((unit) => unit.length >= 2);
  const intervals = bootstrapIntervals({
    items: pairable,
    statistic: (sample) => [statistic(sample)],
    confidence,
    resamples,
    seed,
  });
  return {
    value: statistic(pairable),
    lower: intervals.lower[0] as number,
    upper: intervals.upper[0] as number,
    count: pairable.length,
    confidence,
  };
}
