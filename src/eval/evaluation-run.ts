/**
 * One evaluation run: loads each benchmark's items once and stores them, then scores them with every
 * model through a storing scorer, so a stopped run continues where it stopped with no model call
 * repeated, and stores each (model, benchmark)'s metrics. The caller opens the store in the run
 * directory and holds its run lock.
 */
import { CancelledError, ConfigError } from "../spec/errors.js";
import type { Scorer } from "../spec/scoring.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";
import type { BenchmarkItem } from "./benchmark-item.js";
import { type BenchmarkName, benchmarkDefinition } from "./benchmarks.js";
import type { EthicsSplit } from "./ethics.js";
import { type BenchmarkScore, scoreBenchmark } from "./score-benchmark.js";
import { createStoredScorer, type StoredScorerCounts } from "./stored-scorer.js";

/** The run id of the one evaluation a run directory holds. */
export const EVALUATION_RUN_ID = "evaluation";

/** Bootstrap resamples of every interval. */
export const EVALUATION_RESAMPLES = 2000;

/** What defines a run; a rerun on the same directory must give the same. */
export interface EvaluationConfig {
  models: string[];
  benchmarks: BenchmarkName[];
  split: EthicsSplit;
  /** Items per benchmark subset (the first ones in file order); null: all. */
  limit: number | null;
  /** Seed of the bootstrap intervals. */
  seed: number;
}

/** Progress of a run. */
export type EvaluationEvent =
  | { kind: "items"; benchmark: BenchmarkName; items: number; skipped: number; stored: boolean }
  | { kind: "start"; benchmark: BenchmarkName; model: string; items: number }
  | { kind: "item"; benchmark: BenchmarkName; model: string; done: number; items: number }
  | {
      kind: "done";
      benchmark: BenchmarkName;
      model: string;
      score: BenchmarkScore;
      counts: StoredScorerCounts;
    };

/** Options of {@link runEvaluation}. */
export interface RunEvaluationOptions {
  repository: EvaluationRepository;
  config: EvaluationConfig;
  /** The scorer of each model spec of `config.models`. */
  scorers: ReadonlyMap<string, Scorer>;
  /** The local path of a benchmark's data; asked only when its items are not stored yet. */
  resolveData: (benchmark: BenchmarkName) => Promise<string>;
  /** Score calls in flight per model. Default 4. */
  concurrency?: number;
  onEvent?: (event: EvaluationEvent) => void;
  signal?: AbortSignal;
}

/** Runs (or continues) the evaluation; the run's status is `finished` when it returns. */
export async function runEvaluation({
  repository,
  config,
  scorers,
  resolveData,
  concurrency = 4,
  onEvent,
  signal,
}: RunEvaluationOptions): Promise<void> {
  const existing = repository.findRun(EVALUATION_RUN_ID);
  if (existing === undefined) {
    repository.createRun({ runId: EVALUATION_RUN_ID, config });
  } else {
    checkSameConfig(existing.config as EvaluationConfig, config);
    repository.setRunStatus(EVALUATION_RUN_ID, "running");
  }
  try {
    for (const benchmark of config.benchmarks) {
      const items = await benchmarkItems({ repository, benchmark, config, resolveData, onEvent });
      const definition = benchmarkDefinition(benchmark);
      for (const model of config.models) {
        const scorer = scorers.get(model);
        if (scorer === undefined) throw new RangeError(`no scorer for ${model}`);
        const stored = createStoredScorer({ repository, runId: EVALUATION_RUN_ID, model, scorer });
        onEvent?.({ kind: "start", benchmark, model, items: items.length });
        let done = 0;
        const score = await scoreBenchmark({
          definition,
          items,
          scorer: stored,
          concurrency,
          seed: config.seed,
          resamples: EVALUATION_RESAMPLES,
          onItem: () => {
            done += 1;
            onEvent?.({ kind: "item", benchmark, model, done, items: items.length });
          },
          ...(signal ? { signal } : {}),
        });
        repository.saveMetrics(
          EVALUATION_RUN_ID,
          model,
          benchmark,
          score.metrics.map((metric) => ({
            model,
            benchmark,
            metric: metric.metric,
            ...metric.estimate,
            itemIds: metric.unitIds,
          })),
        );
        onEvent?.({ kind: "done", benchmark, model, score, counts: { ...stored.counts } });
      }
    }
    repository.setRunStatus(EVALUATION_RUN_ID, "finished");
  } catch (error) {
    repository.setRunStatus(EVALUATION_RUN_ID, signal?.aborted ? "stopped" : "failed");
    if (signal?.aborted) {
      throw new CancelledError(
        "evaluation stopped; every score so far is stored: run the same command again to continue",
      );
    }
    throw error;
  }
}

/** A benchmark's stored items, loading and storing them first when the run has none yet. */
async function benchmarkItems({
  repository,
  benchmark,
  config,
  resolveData,
  onEvent,
}: {
  repository: EvaluationRepository;
  benchmark: BenchmarkName;
  config: EvaluationConfig;
  resolveData: (benchmark: BenchmarkName) => Promise<string>;
  onEvent: ((event: EvaluationEvent) => void) | undefined;
}): Promise<BenchmarkItem[]> {
  if (repository.hasItems(EVALUATION_RUN_ID, benchmark)) {
    const items = repository.loadItems(EVALUATION_RUN_ID, benchmark).map((stored) => stored.item as BenchmarkItem);
    onEvent?.({ kind: "items", benchmark, items: items.length, skipped: 0, stored: true });
    return items;
  }
  const path = await resolveData(benchmark);
  const loaded = await benchmarkDefinition(benchmark).load({ path, split: config.split });
  const items = config.limit === null ? loaded.items : firstPerSubset(loaded.items, config.limit);
  repository.saveItems(
    EVALUATION_RUN_ID,
    benchmark,
    items.map((item) => ({ itemId: item.item.id, item })),
  );
  onEvent?.({ kind: "items", benchmark, items: items.length, skipped: loaded.skipped, stored: false });
  return items;
}

/** The first `limit` items of each subset, in their order. */
export function firstPerSubset(items: readonly BenchmarkItem[], limit: number): BenchmarkItem[] {
  const taken = new Map<string, number>();
  return items.filter((entry) => {
    const subset = entry.kind === "choice" ? entry.item.subset : "";
    const count = taken.get(subset) ?? 0;
    taken.set(subset, count + 1);
    return count < limit;
  });
}

const FLAGS: Record<keyof EvaluationConfig, string> = {
  models: "--model",
  benchmarks: "--bench",
  split: "--split",
  limit: "--limit",
  seed: "--seed",
};

function checkSameConfig(stored: EvaluationConfig, given: EvaluationConfig): void {
  for (const key of Object.keys(FLAGS) as (keyof EvaluationConfig)[]) {
    if (JSON.stringify(stored[key]) !== JSON.stringify(given[key])) {
      const flag = FLAGS[key];
      throw new ConfigError(
        `this run directory holds an evaluation with ${flag} ${JSON.stringify(stored[key])}, not ${JSON.stringify(given[key])}; rerun with the same flags to continue it, or choose another --out`,
        { field: flag },
      );
    }
  }
}
