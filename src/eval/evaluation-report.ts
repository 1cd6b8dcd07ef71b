/**
 * The report of an evaluation run, recomputed from its stored items and scores alone (a replaying
 * scorer, the same scoring code as the run): per benchmark, a table of model x metric with bootstrap
 * intervals, paired differences against the first model where two models scored the same items, and
 * the stored items every number is computed over. No timestamps or paths in the body, so a recomputed
 * report is byte-identical.
 */
import { type Estimate, pairedBootstrapDifference } from "../data/statistics.js";
import { InputError } from "../spec/errors.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";
import type { BenchmarkItem } from "./benchmark-item.js";
import { type BenchmarkName, benchmarkDefinition } from "./benchmarks.js";
import { EVALUATION_RESAMPLES, EVALUATION_RUN_ID, type EvaluationConfig } from "./evaluation-run.js";
import { scoreBenchmark } from "./score-benchmark.js";
import { createStoredScorer } from "./stored-scorer.js";

/** One metric of one model. */
export interface ReportMetric extends Estimate {
  metric: string;
  /** Ids of the stored items (or ETHICS groups) the metric is the mean over. */
  units: string[];
}

/** One model's column of a benchmark. */
export interface ReportModel {
  /** The model spec, followed by ` [compare]` for a model of the compared run. */
  model: string;
  metrics: ReportMetric[];
  /** Items left out because a choice's score was invalid. */
  invalidItemIds: string[];
  /** Why each left-out item is invalid, in the order of `invalidItemIds`. */
  invalidReasons: string[];
}

/** A paired difference `model - baseline` over the units both scored. */
export interface ReportDifference extends Estimate {
  model: string;
  baseline: string;
  metric: string;
}

/** One benchmark's section. */
export interface ReportBenchmark {
  name: BenchmarkName;
  /** Number of stored items (in `eval_items` of the run's `run.sqlite`). */
  items: number;
  models: ReportModel[];
  differences: ReportDifference[];
}

/** The whole report. */
export interface EvaluationReport {
  bootstrap: { confidence: number; resamples: number; seed: number };
  benchmarks: ReportBenchmark[];
}

/** A run's repository, and the suffix its models get in the report. */
export interface ReportSource {
  repository: EvaluationRepository;
  /** Appended to each model's name; `""` for the main run. */
  suffix: string;
}

/** Recomputes the report of `main` (and of `compare`, whose models join each table). */
export async function buildEvaluationReport({
  main,
  compare,
}: {
  main: ReportSource;
  compare?: ReportSource;
}): Promise<EvaluationReport> {
  const mainConfig = configOf(main.repository);
  const seed = mainConfig.seed;
  const sources = compare === undefined ? [main] : [main, compare];
  const configs = sources.map((source) => configOf(source.repository));
  const names = [...new Set(configs.flatMap((config) => config.benchmarks))];
  const benchmarks: ReportBenchmark[] = [];
  for (const name of names) {
    const definition = benchmarkDefinition(name);
    const models: ReportModel[] = [];
    const columns: { model: string; itemsJson: string; metrics: Map<string, { ids: string[]; values: number[] }> }[] =
      [];
    let itemCount = 0;
    for (const [index, source] of sources.entries()) {
      const config = configs[index] as EvaluationConfig;
      if (!config.benchmarks.includes(name)) continue;
      const stored = source.repository.loadItems(EVALUATION_RUN_ID, name);
      const items = stored.map((entry) => entry.item as BenchmarkItem);
      if (index === 0 || itemCount === 0) itemCount = items.length;
      for (const model of config.models) {
        const scorer = createStoredScorer({ repository: source.repository, runId: EVALUATION_RUN_ID, model });
        const score = await scoreBenchmark({ definition, items, scorer, seed, resamples: EVALUATION_RESAMPLES });
        const label = `${model}${source.suffix}`;
        models.push({
          model: label,
          metrics: score.metrics.map((metric) => ({
            metric: metric.metric,
            ...metric.estimate,
            units: metric.unitIds,
          })),
          invalidItemIds: score.invalidItemIds,
          invalidReasons: score.invalidReasons,
        });
        columns.push({
          model: label,
          itemsJson: JSON.stringify(items),
          metrics: new Map(
            score.metrics.map((metric) => [metric.metric, { ids: metric.unitIds, values: metric.values }]),
          ),
        });
      }
    }
    benchmarks.push({ name, items: itemCount, models, differences: pairedDifferences(columns, seed) });
  }
  return { bootstrap: { confidence: 0.95, resamples: EVALUATION_RESAMPLES, seed }, benchmarks };
}

function pairedDifferences(
  columns: { model: string; itemsJson: string; metrics: Map<string, { ids: string[]; values: number[] }> }[],
  seed: number,
): ReportDifference[] {
  const [baseline, ...others] = columns;
  if (baseline === undefined) return [];
  const differences: ReportDifference[] = [];
  for (const column of others) {
    if (column.itemsJson !== baseline.itemsJson) continue;
    for (const [metric, base] of baseline.metrics) {
      const other = column.metrics.get(metric);
      if (other === undefined) continue;
      const values = new Map(other.ids.map((id, index) => [id, other.values[index] as number]));
      const left: number[] = [];
      const right: number[] = [];
      base.ids.forEach((id, index) => {
        const value = values.get(id);
        if (value === undefined) return;
        left.push(value);
        right.push(base.values[index] as number);
      });
      const estimate = pairedBootstrapDifference({ left, right, seed, resamples: EVALUATION_RESAMPLES });
      differences.push({ model: column.model, baseline: baseline.model, metric, ...estimate });
    }
  }
  return differences;
}

function configOf(repository: EvaluationRepository): EvaluationConfig {
  const run = repository.findRun(EVALUATION_RUN_ID);
  if (run === undefined) throw new InputError("run.sqlite holds no evaluation run (`eval run` writes one)");
  return run.config as EvaluationConfig;
}

const number = (value: number): string => (Number.isNaN(value) ? "n/a" : value.toFixed(4));
const interval = (estimate: Estimate): string => `[${number(estimate.lower)}, ${number(estimate.upper)}]`;

/** The report as Markdown. */
export function formatReportMarkdown(report: EvaluationReport): string {
  const { confidence, resamples, seed } = report.bootstrap;
  const lines = [
    "# Evaluation report",
    "",
    `Intervals: ${confidence * 100}% percentile bootstrap over items, ${resamples} resamples, seed ${seed}. Every number is recomputed from the items and per-choice scores stored in the run's run.sqlite (tables eval_items and eval_scores); each metric's units are listed in the JSON report (\`--format json\`).`,
  ];
  for (const benchmark of report.benchmarks) {
    lines.push("", `## ${benchmark.name}`, "");
    lines.push(
      `${benchmark.items} items: \`SELECT item_id FROM eval_items WHERE benchmark = '${benchmark.name}'\`.`,
      "",
    );
    lines.push("| model | metric | value | 95% interval | n |", "|---|---|---|---|---|");
    for (const model of benchmark.models) {
      for (const metric of model.metrics) {
        lines.push(
          `| ${model.model} | ${metric.metric} | ${number(metric.value)} | ${interval(metric)} | ${metric.count} |`,
        );
      }
    }
    const invalid = benchmark.models.filter((model) => model.invalidItemIds.length > 0);
    if (invalid.length > 0) {
      lines.push("");
      for (const model of invalid) {
        // Reasons that differ only in their numbers (token counts) are one group; the first is quoted.
        const groups = new Map<string, { reason: string; ids: string[] }>();
        model.invalidItemIds.forEach((id, index) => {
          const reason = model.invalidReasons[index] ?? "invalid score";
          const key = reason.replace(/\d+/g, "#");
          const group = groups.get(key) ?? { reason, ids: [] };
          group.ids.push(id);
          groups.set(key, group);
        });
        for (const { reason, ids } of groups.values()) {
          const shown = ids.slice(0, 10).join(", ");
          const more = ids.length > 10 ? ` and ${ids.length - 10} more` : "";
          lines.push(`Left out for ${model.model} (${reason}): ${ids.length} items: ${shown}${more}.`);
        }
      }
    }
    if (benchmark.differences.length > 0) {
      lines.push("", "Paired differences over the same items (model minus baseline):", "");
      lines.push("| model | baseline | metric | difference | 95% interval | n |", "|---|---|---|---|---|---|");
      for (const difference of benchmark.differences) {
        lines.push(
          `| ${difference.model} | ${difference.baseline} | ${difference.metric} | ${number(difference.value)} | ${interval(difference)} | ${difference.count} |`,
        );
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The report as JSON (NaN written as null). */
export function formatReportJson(report: EvaluationReport): string {
  return `${JSON.stringify(report, (_, value) => (typeof value === "number" && Number.isNaN(value) ? null : value), 2)}\n`;
}
