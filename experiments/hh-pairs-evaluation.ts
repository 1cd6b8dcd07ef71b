/**
 * The hh-pairs experiment's measurement: held-out preference accuracy of each model (mean
 * log-probability per token of the chosen vs the rejected final answer) with a 95% bootstrap interval,
 * and the paired bootstrap interval of each model minus a baseline over the same items.
 */

import { computePreferenceAccuracy, type PreferenceItem } from "../src/data/preference-accuracy.js";
import { type Estimate, pairedBootstrapDifference } from "../src/data/statistics.js";
import type { Blas } from "../src/engine/index.js";
import { createLocalModel } from "../src/llm/local-model.js";

/** One model's held-out result. */
export interface ModelAccuracy {
  name: string;
  directory: string;
  accuracy: Estimate;
  /** Items the model could not score (kept out of its mean and of every paired difference). */
  invalid: number;
  /** Per item (in item order): 1, 0, 0.5 on a tie, or undefined when invalid. */
  outcomes: (number | undefined)[];
  seconds: number;
}

/** Scores every item with the model in `directory`. */
export async function measureModel({
  name,
  directory,
  items,
  blas,
  seed,
}: {
  name: string;
  directory: string;
  items: readonly PreferenceItem[];
  blas: Blas;
  /** Bootstrap seed. */
  seed: number;
}): Promise<ModelAccuracy> {
  const started = performance.now();
  const model = await createLocalModel({ directory, blas });
  try {
    const result = await computePreferenceAccuracy({ scorer: model, items, concurrency: 1, seed });
    return {
      name,
      directory,
      accuracy: result.accuracy,
      invalid: result.invalid,
      outcomes: result.items.map((item) => (item.valid ? item.correct : undefined)),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await model.close();
  }
}

/** Paired bootstrap of `model - baseline` over the items both scored. */
export function differenceFrom({
  model,
  baseline,
  seed,
}: {
  model: ModelAccuracy;
  baseline: ModelAccuracy;
  seed: number;
}): Estimate {
  const left: number[] = [];
  const right: number[] = [];
  for (const [index, outcome] of model.outcomes.entries()) {
    const other = baseline.outcomes[index];
    if (outcome === undefined || other === undefined) continue;
    left.push(outcome);
    right.push(other);
  }
  return pairedBootstrapDifference({ left, right, seed });
}

/** `0.62 [0.57, 0.67]`, or `n/a` for an empty sample. */
export function formatEstimate(estimate: Estimate, { signed = false }: { signed?: boolean } = {}): string {
  if (Number.isNaN(estimate.value)) return "n/a";
  const number = (value: number) => `${signed && value > 0 ? "+" : ""}${value.toFixed(3)}`;
  return `${number(estimate.value)} [${number(estimate.lower)}, ${number(estimate.upper)}]`;
}
