/**
 * A likelihood evaluation run into a directory, with models built from specs: makes every model's
 * scorer (refusing models that cannot score before anything is written), opens `run.sqlite`, runs or
 * continues the evaluation (every score stored, so a rerun repeats no call), and writes `report.md`
 * and `report.json` recomputed from the stored scores. The caller holds the directory (`eval run`
 * locks it; the experiment runner locks the whole experiment). `eval run` and the runner both call this.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkName } from "../eval/benchmarks.js";
import { downloadBenchmarkData } from "../eval/dataset-download.js";
import type { EthicsSplit } from "../eval/ethics.js";
import {
  buildEvaluationReport,
  type EvaluationReport,
  formatReportJson,
  formatReportMarkdown,
} from "../eval/evaluation-report.js";
import { type EvaluationEvent, runEvaluation } from "../eval/evaluation-run.js";
import { writeAtomically } from "../model/atomic-writer.js";
import { ModelSpecError } from "../spec/errors.js";
import type { LanguageModel } from "../spec/language-model.js";
import type { ScoreRequest, ScoreResult, Scorer } from "../spec/scoring.js";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { openStore } from "../store/open-store.js";
import { createModelFactory, type ModelFactoryOptions } from "./model-factory.js";

/** The store file of an evaluation directory. */
export const EVALUATION_STORE_FILE = "run.sqlite";

/** The scorer of a model, or a ModelSpecError naming `spec` when the model cannot score. */
export function scorerOf(model: LanguageModel, spec: string): Scorer {
  const score = model.score;
  if (model.capabilities.score !== true || score === undefined) {
    throw new ModelSpecError(
      spec,
      `${spec} cannot score continuations (its capabilities have no likelihood scoring); use local:<dir>, gguf:<file> or a vLLM server (openai:<model>@<url>)`,
    );
  }
  return { score: (request: ScoreRequest): Promise<ScoreResult> => score.call(model, request) };
}

/** Options of {@link evaluateInDirectory}. */
export interface EvaluateInDirectoryOptions {
  /** The run directory (created when missing); a run already there is continued. */
  directory: string;
  /** Model specs to score. */
  models: readonly string[];
  benchmarks: readonly BenchmarkName[];
  /** Local copies of benchmark data; a benchmark without one is downloaded into `models.cacheDirectory`. */
  dataPaths?: ReadonlyMap<BenchmarkName, string>;
  /** Dataset endpoint for downloads (the CLI passes HF_ENDPOINT). Default the public Hub. */
  datasetEndpoint?: string;
  /** ETHICS split. Default `test`. */
  split?: EthicsSplit;
  /** Items per benchmark subset; null (default): all. */
  limit?: number | null;
  /** Seed of the bootstrap intervals. Default 0. */
  seed?: number;
  /** How models are built (no response cache: the run stores every score itself). */
  factory: Omit<ModelFactoryOptions, "store">;
  /**
   * Opens the directory once the models are built (the CLI's lock and interrupt signal, which then
   * replaces `signal`); its `close()` runs at the end. Default: nothing to open.
   */
  open?: () => { close(): void; readonly signal?: AbortSignal };
  onEvent?: (event: EvaluationEvent) => void;
  /** Called between the run and the report (the CLI stops its progress bars). */
  onScored?: () => void;
  signal?: AbortSignal;
}

/** The report of the finished run, and its markdown and JSON (also written to the directory). */
export interface EvaluationOutcome {
  report: EvaluationReport;
  markdown: string;
  json: string;
}

/** Runs or continues a likelihood evaluation in `directory`. */
export async function evaluateInDirectory({
  directory,
  models,
  benchmarks,
  dataPaths = new Map(),
  datasetEndpoint,
  split = "test",
  limit = null,
  seed = 0,
  factory: factoryOptions,
  open,
  onEvent,
  onScored,
  signal,
}: EvaluateInDirectoryOptions): Promise<EvaluationOutcome> {
  const factory = createModelFactory(factoryOptions);
  const scorers = new Map<string, Scorer>();
  try {
    for (const spec of models) scorers.set(spec, scorerOf(await factory.languageModel(spec), spec));
  } catch (error) {
    await factory.close();
    throw error;
  }
  let held: { close(): void; readonly signal?: AbortSignal } | undefined;
  try {
    held = open?.();
    const stopSignal = held?.signal ?? signal;
    mkdirSync(directory, { recursive: true });
    const store = openStore({ path: join(directory, EVALUATION_STORE_FILE) });
    try {
      const repository = createEvaluationRepository({ database: store.database });
      await runEvaluation({
        repository,
        config: { models: [...models], benchmarks: [...benchmarks], split, limit, seed },
        scorers,
        resolveData: async (benchmark) =>
          dataPaths.get(benchmark) ??
          downloadBenchmarkData({
            benchmark,
            split,
            cacheDirectory: factoryOptions.cacheDirectory,
            ...(datasetEndpoint ? { endpoint: datasetEndpoint } : {}),
          }),
        ...(onEvent ? { onEvent } : {}),
        ...(stopSignal ? { signal: stopSignal } : {}),
      });
      onScored?.();
      const report = await buildEvaluationReport({ main: { repository, suffix: "" } });
      const markdown = formatReportMarkdown(report);
      const json = formatReportJson(report);
      await writeAtomically({ path: join(directory, "report.md") }, (writer) => writer.write(markdown));
      await writeAtomically({ path: join(directory, "report.json") }, (writer) => writer.write(json));
      return { report, markdown, json };
    } finally {
      store.close();
    }
  } finally {
    await factory.close();
    held?.close();
  }
}
