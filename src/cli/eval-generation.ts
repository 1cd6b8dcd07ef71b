/**
 * `eval run --mode generation --judge <spec>` and the generation part of `eval report` (issue 14):
 * the models answer, the judge rates (observer rubric) and compares against reference answers; every
 * call goes through the model factory with the run's store, so answers and verdicts share the
 * response cache, concurrency limits and budget of every other command. The work is in src/eval.
 */
import { existsSync } from "node:fs";
import type { EthicsSplit } from "../eval/ethics.js";
import { GENERATION_BENCHMARKS, type GenerationBenchmark } from "../eval/generation-items.js";
import { buildGenerationReport } from "../eval/generation-report.js";
import {
  formatGenerationHtml,
  formatGenerationJson,
  formatGenerationMarkdown,
} from "../eval/generation-report-format.js";
import type { GenerationEvent } from "../eval/generation-run.js";
import { judgeInDirectory } from "../experiment/judged-evaluation-in-directory.js";
import { InputError, UsageError } from "../spec/errors.js";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { createJudgeRepository } from "../store/judge-repository.js";
import type { Store } from "../store/open-store.js";
import type { CliContext } from "./cli-context.js";
import { modelFactorySettings } from "./model-factory.js";
import { openRunDirectory } from "./run-directory.js";

/** Whether a text names a benchmark with a generation mode. */
export function isGenerationBenchmark(name: string): name is GenerationBenchmark {
  return (GENERATION_BENCHMARKS as readonly string[]).includes(name);
}

/** The options of a generation run. */
export interface GenerationRunOptions {
  model: string[];
  bench: string[];
  judge?: string;
  data: ReadonlyMap<string, string>;
  split: EthicsSplit;
  limit?: number;
  seed: number;
  out: string;
  json?: boolean;
  questions?: string;
  exclude?: string[];
  templates?: string;
  allowTestModels?: boolean;
}

/** Runs `eval run --mode generation`; writes report.md, report.json and report.html in `out`. */
export async function runGenerationCommand({
  context,
  options,
  storeFile,
}: {
  context: CliContext;
  options: GenerationRunOptions;
  storeFile: string;
}): Promise<void> {
  if (options.judge === undefined) throw new UsageError("--mode generation needs --judge <spec>", { field: "--judge" });
  for (const name of options.bench) {
    if (!isGenerationBenchmark(name)) {
      throw new UsageError(`--bench: ${name} has no generation mode; generation: ${GENERATION_BENCHMARKS.join(", ")}`, {
        field: "--bench",
      });
    }
  }
  if (options.bench.includes("sandbox") && options.questions === undefined) {
    throw new UsageError("--bench sandbox needs --questions <SANDBOX question pool file>", { field: "--questions" });
  }
  for (const [flag, path] of [
    ["--questions", options.questions],
    ["--templates", options.templates],
    ...(options.exclude ?? []).map((path) => ["--exclude", path]),
  ] as const) {
    if (path !== undefined && !existsSync(path))
      throw new InputError(`${flag}: no such file or folder`, { file: path });
  }
  const run = openRunDirectory({ directory: options.out, command: "eval run" });
  try {
    const { markdown, json } = await judgeInDirectory({
      directory: options.out,
      storeFile,
      models: options.model,
      benchmarks: options.bench as GenerationBenchmark[],
      judge: options.judge,
      dataPaths: options.data,
      ...(context.environment.HF_ENDPOINT ? { datasetEndpoint: context.environment.HF_ENDPOINT } : {}),
      split: options.split,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      seed: options.seed,
      ...(options.questions === undefined ? {} : { questions: options.questions }),
      ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
      ...(options.templates === undefined ? {} : { templates: options.templates }),
      factory: {
        ...modelFactorySettings(context, { allowTestModels: options.allowTestModels === true }),
        ...(context.config.budgetUsd === undefined ? {} : { budgetUsd: context.config.budgetUsd }),
      },
      onEvent: (event: GenerationEvent) => {
        if (options.json === true) context.stdout.write(`${JSON.stringify(event)}\n`);
        else if (event.kind === "items") context.stderr.write(`${event.benchmark}: ${event.items} items\n`);
      },
      log: (line) => context.stderr.write(`${line}\n`),
      signal: run.signal,
    });
    context.stdout.write(options.json === true ? json : markdown);
  } finally {
    run.close();
  }
}

/** `eval report` of a directory holding a generation run: its report in `format`. */
export function generationReportText({ store, format }: { store: Store; format: "md" | "json" | "html" }): string {
  const report = buildGenerationReport({
    evaluationRepository: createEvaluationRepository({ database: store.database }),
    judgeRepository: createJudgeRepository({ database: store.database }),
  });
  if (format === "json") return formatGenerationJson(report);
  if (format === "html") return formatGenerationHtml(report);
  return formatGenerationMarkdown(report);
}
