/**
 * Scores one benchmark's items with one scorer and computes its metrics with bootstrap intervals:
 * multiple-choice items by the likelihood of each choice (EVAL.md), preference pairs by the
 * foundations' `computePreferenceAccuracy`. The same function runs during `eval run` (a scorer that
 * stores) and `eval report` (a scorer that replays), so a report recomputes exactly the run's numbers.
 */
import { computePreferenceAccuracy, type PreferenceItem } from "../data/preference-accuracy.js";
import { bootstrapMean, type Estimate } from "../data/statistics.js";
import type { ContinuationScore, Scorer } from "../spec/scoring.js";
import { type BenchmarkItem, type ChoiceItem, continuationOf } from "./benchmark-item.js";
import type { BenchmarkDefinition } from "./benchmarks.js";
import { choiceItemValues, groupAccuracy } from "./choice-metrics.js";

/** One reported metric: its estimate and the units (item or group ids) and values behind it. */
export interface MetricResult {
  /** `acc`, `acc_norm`, `mc1`, `mc2`, `accuracy`, `group_acc`, prefixed by the subset (`justice/acc`). */
  metric: string;
  estimate: Estimate;
  /** Ids of the units the mean is over, in item order. */
  unitIds: string[];
  /** The unit values, in the order of `unitIds`. */
  values: number[];
}

/** A benchmark's metrics for one model. */
export interface BenchmarkScore {
  metrics: MetricResult[];
  /** Ids of items left out because a choice's score was invalid. */
  invalidItemIds: string[];
  /** Why each left-out item is invalid (the first invalid choice's reason), in the order of `invalidItemIds`. */
  invalidReasons: string[];
}

/** Options of {@link scoreBenchmark}. */
export interface ScoreBenchmarkOptions {
  definition: BenchmarkDefinition;
  items: readonly BenchmarkItem[];
  scorer: Scorer;
  /** Score calls in flight. Default 4. */
  concurrency?: number;
  /** Seed of every bootstrap. Default 0. */
  seed?: number;
  /** Bootstrap resamples. Default 2000. */
  resamples?: number;
  /** Called after each item is scored. */
  onItem?: () => void;
  signal?: AbortSignal;
}

/** Scores every item and returns the benchmark's metrics. */
export async function scoreBenchmark({
  definition,
  items,
  scorer,
  concurrency = 4,
  seed = 0,
  resamples = 2000,
  onItem,
  signal,
}: ScoreBenchmarkOptions): Promise<BenchmarkScore> {
  const preference = items.filter((entry) => entry.kind === "preference").map((entry) => entry.item as PreferenceItem);
  if (preference.length > 0) {
    const result = await computePreferenceAccuracy({
      scorer,
      items: preference,
      concurrency,
      callIdentityPrefix: `eval/${definition.name}`,
      seed,
      resamples,
      ...(onItem ? { onItem: () => onItem() } : {}),
      ...(signal ? { signal } : {}),
    });
    const valid = result.items.filter((item) => item.valid);
    return {
      metrics: [
        {
          metric: "accuracy",
          estimate: result.accuracy,
          unitIds: valid.map((item) => item.id),
          values: valid.map((item) => (item.valid ? item.correct : 0)),
        },
      ],
      invalidItemIds: result.items.filter((item) => !item.valid).map((item) => item.id),
      invalidReasons: result.items.flatMap((item) => (item.valid ? [] : [item.reason])),
    };
  }
  const choiceItems = items.map((entry) => entry.item as ChoiceItem);
  const scores = await scoreChoiceItems({
    items: choiceItems,
    scorer,
    concurrency,
    onItem,
    signal,
    name: definition.name,
  });
  return choiceMetrics({ definition, items: choiceItems, scores, seed, resamples });
}

async function scoreChoiceItems({
  items,
  scorer,
  concurrency,
  onItem,
  signal,
  name,
}: {
  items: readonly ChoiceItem[];
  scorer: Scorer;
  concurrency: number;
  onItem: (() => void) | undefined;
  signal: AbortSignal | undefined;
  name: string;
}): Promise<ContinuationScore[][]> {
  const results: ContinuationScore[][] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const index = next;
      next += 1;
      const item = items[index] as ChoiceItem;
      const result = await scorer.score({
        context: item.context,
        continuations: item.choices.map(continuationOf),
        callIdentity: `eval/${name}/${item.id}`,
        ...(signal ? { signal } : {}),
      });
      results[index] = result.scores;
      onItem?.();
    }
  };
  // Every worker finishes its call before a failure is passed on, so a stopped run has stored all it paid for.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
  );
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
  return results;
}

/** The metrics of scored choice items (exported for tests that bring their own scores). */
export function choiceMetrics({
  definition,
  items,
  scores,
  seed = 0,
  resamples = 2000,
}: {
  definition: BenchmarkDefinition;
  items: readonly ChoiceItem[];
  scores: readonly (readonly ContinuationScore[])[];
  seed?: number;
  resamples?: number;
}): BenchmarkScore {
  const invalidItemIds: string[] = [];
  const invalidReasons: string[] = [];
  const valid: { item: ChoiceItem; acc: number; accNorm: number; mc2: number | undefined }[] = [];
  items.forEach((item, index) => {
    const itemScores = scores[index] as readonly ContinuationScore[];
    const numbers: number[] = [];
    for (const score of itemScores) if (score.valid) numbers.push(score.logProbability);
    if (numbers.length !== item.choices.length) {
      invalidItemIds.push(item.id);
      const invalid = itemScores.find((score) => !score.valid);
      invalidReasons.push(invalid !== undefined && !invalid.valid ? invalid.reason : "a choice has no score");
      return;
    }
    valid.push({ item, ...choiceItemValues({ item, logProbabilities: numbers }) });
  });
  const estimate = (values: number[]): Estimate => bootstrapMean({ values, seed, resamples });
  const metric = (name: string, rows: typeof valid, value: (row: (typeof valid)[number]) => number): MetricResult => {
    const values = rows.map(value);
    return { metric: name, estimate: estimate(values), unitIds: rows.map((row) => row.item.id), values };
  };
  const metrics: MetricResult[] = [];
  const subsets = [...new Set(items.map((item) => item.subset))];
  if (definition.overall && subsets.length > 1) {
    for (const name of definition.choiceMetrics) {
      metrics.push(metric(name, valid, (row) => (name === "acc" ? row.acc : row.accNorm)));
    }
  }
  for (const subset of subsets) {
    const rows = valid.filter((row) => row.item.subset === subset);
    if (definition.name === "truthfulqa") {
      metrics.push(
        subset === "mc2" ? metric("mc2", rows, (row) => row.mc2 ?? 0) : metric(subset, rows, (row) => row.acc),
      );
      continue;
    }
    const prefix = subset === "" ? "" : `${subset}/`;
    for (const name of definition.choiceMetrics) {
      metrics.push(metric(`${prefix}${name}`, rows, (row) => (name === "acc" ? row.acc : row.accNorm)));
    }
    const groupSize = definition.groupSizes[subset];
    if (groupSize !== undefined) {
      const groups = groupAccuracy({
        items: rows.map((row) => row.item),
        correct: rows.map((row) => row.acc),
        groupSize,
      });
      metrics.push({
        metric: `${prefix}group_acc`,
        estimate: estimate(groups.values),
        unitIds: groups.groups,
        values: groups.values,
      });
    }
  }
  return { metrics, invalidItemIds, invalidReasons };
}
