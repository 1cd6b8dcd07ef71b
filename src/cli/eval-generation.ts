/**
 * `eval run --mode generation --judge <spec>` and the generation part of `eval report` (issue 14):
 * the models answer, the judge rates (observer rubric) and compares against reference answers; every
 * call goes through the model factory with the run's store, so answers and verdicts share the
 * response cache, concurrency limits and budget of every other command. The work is in src/eval.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadQuestionPool } from "../data/question-pool.js";
import { type BenchmarkName, benchmarkDefinition } from "../eval/benchmarks.js";
import { downloadBenchmarkData } from "../eval/dataset-download.js";
import type { EthicsSplit } from "../eval/ethics.js";
import {
  GENERATION_BENCHMARKS,
  type GenerationBenchmark,
  type GenerationItem,
  generationItemsOf,
  sandboxItems,
  trainingQuestions,
} from "../eval/generation-items.js";
import { buildGenerationReport } from "../eval/generation-report.js";
import {
  formatGenerationHtml,
  formatGenerationJson,
  formatGenerationMarkdown,
} from "../eval/generation-report-format.js";
import { type GenerationEvent, runGeneration } from "../eval/generation-run.js";
import { adversarialItems, readJailbreakTemplates } from "../eval/jailbreak-templates.js";
import { createPairwiseJudge, createRubricJudge } from "../eval/judges.js";
import { writeAtomically } from "../model/atomic-writer.js";
import { InputError, UsageError } from "../spec/errors.js";
import type { LanguageModel } from "../spec/language-model.js";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { createJudgeRepository } from "../store/judge-repository.js";
import { openStore, type Store } from "../store/open-store.js";
import type { CliContext } from "./cli-context.js";
import { createModelFactory } from "./model-factory.js";
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
  let store: Store | undefined;
  let factory: ReturnType<typeof createModelFactory> | undefined;
  try {
    store = openStore({ path: join(options.out, storeFile) });
    factory = createModelFactory({ context, store, allowTestModels: options.allowTestModels === true });
    const models = new Map<string, LanguageModel>();
    for (const spec of options.model) models.set(spec, await factory.languageModel(spec));
    const judgeModel = await factory.languageModel(options.judge);
    const evaluationRepository = createEvaluationRepository({ database: store.database });
    const judgeRepository = createJudgeRepository({ database: store.database });
    await runGeneration({
      evaluationRepository,
      judgeRepository,
      config: {
        mode: "generation",
        models: options.model,
        benchmarks: options.bench,
        judge: options.judge,
        limit: options.limit ?? null,
        seed: options.seed,
      },
      models,
      rubricJudge: createRubricJudge({ model: judgeModel }),
      pairwiseJudge: createPairwiseJudge({ model: judgeModel }),
      loadItems: (benchmark) => loadGenerationItems({ context, options, benchmark: benchmark as GenerationBenchmark }),
      onEvent: (event: GenerationEvent) => {
        if (options.json === true) context.stdout.write(`${JSON.stringify(event)}\n`);
        else if (event.kind === "items") context.stderr.write(`${event.benchmark}: ${event.items} items\n`);
      },
      signal: run.signal,
    });
    const report = buildGenerationReport({ evaluationRepository, judgeRepository });
    const markdown = formatGenerationMarkdown(report);
    const json = formatGenerationJson(report);
    await writeAtomically({ path: join(options.out, "report.md") }, (writer) => writer.write(markdown));
    await writeAtomically({ path: join(options.out, "report.json") }, (writer) => writer.write(json));
    await writeAtomically({ path: join(options.out, "report.html") }, (writer) =>
      writer.write(formatGenerationHtml(report)),
    );
    context.stdout.write(options.json === true ? json : markdown);
  } finally {
    await factory?.close();
    store?.close();
    run.close();
  }
}

async function loadGenerationItems({
  context,
  options,
  benchmark,
}: {
  context: CliContext;
  options: GenerationRunOptions;
  benchmark: GenerationBenchmark;
}): Promise<GenerationItem[]> {
  if (benchmark === "sandbox") {
    const exclude = new Set<string>();
    for (const path of options.exclude ?? [])
      for (const question of await trainingQuestions({ path })) exclude.add(question);
    const { items, excluded } = await sandboxItems({ poolPath: options.questions as string, exclude });
    context.stderr.write(`sandbox: ${excluded} pool questions used in training left out\n`);
    return options.limit === undefined ? items : items.slice(0, options.limit);
  }
  if (benchmark === "hh-adversarial") {
    const templates = await readJailbreakTemplates(options.templates === undefined ? {} : { path: options.templates });
    const baseItems =
      options.questions !== undefined
        ? (await loadQuestionPool({ path: options.questions })).map((question, index) => ({
            id: `question/${index}`,
            prompt: question,
            question,
            judgeNotes: "",
          }))
        : await likelihoodItems({ context, options, name: "hh-harmless", dataKey: "hh-adversarial" });
    const limited = options.limit === undefined ? baseItems : baseItems.slice(0, options.limit);
    // The run's --limit applies to the base prompts here, each asked plain and under every template.
    return adversarialItems({ baseItems: limited, templates });
  }
  const items = await likelihoodItems({ context, options, name: benchmark, dataKey: benchmark });
  return options.limit === undefined ? items : items.slice(0, options.limit);
}

async function likelihoodItems({
  context,
  options,
  name,
  dataKey,
}: {
  context: CliContext;
  options: GenerationRunOptions;
  name: Exclude<GenerationBenchmark, "sandbox" | "hh-adversarial">;
  dataKey: string;
}): Promise<GenerationItem[]> {
  const path =
    options.data.get(dataKey) ??
    (await downloadBenchmarkData({
      benchmark: name as BenchmarkName,
      split: options.split,
      cacheDirectory: context.cacheDirectory,
      ...(context.environment.HF_ENDPOINT ? { endpoint: context.environment.HF_ENDPOINT } : {}),
    }));
  const { items } = await benchmarkDefinition(name as BenchmarkName).load({ path, split: options.split });
  return generationItemsOf({ benchmark: name, items });
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
