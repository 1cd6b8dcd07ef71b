/**
 * A generation-mode evaluation run into a directory (`eval run --mode generation`, an experiment's
 * judged evaluation): the models answer each benchmark's prompts, the judge rates them on the
 * observer rubric and against reference answers; every call goes through a model factory on the
 * run's store, so a rerun replays answered calls from the response cache. Writes `report.md`,
 * `report.json` and `report.html`. The caller holds the directory.
 */
import { join } from "node:path";
import { loadQuestionPool } from "../data/question-pool.js";
import { type BenchmarkName, benchmarkDefinition } from "../eval/benchmarks.js";
import { downloadBenchmarkData } from "../eval/dataset-download.js";
import type { EthicsSplit } from "../eval/ethics.js";
import {
  type GenerationBenchmark,
  type GenerationItem,
  generationItemsOf,
  sandboxItems,
  trainingQuestions,
} from "../eval/generation-items.js";
import type { GenerationReport } from "../eval/generation-report.js";
import { writeGenerationReportFiles } from "../eval/generation-report-files.js";
import { type GenerationEvent, runGeneration } from "../eval/generation-run.js";
import { adversarialItems, readJailbreakTemplates } from "../eval/jailbreak-templates.js";
import { createPairwiseJudge, createRubricJudge } from "../eval/judges.js";
import type { LanguageModel } from "../spec/language-model.js";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { createJudgeRepository } from "../store/judge-repository.js";
import { openStore } from "../store/open-store.js";
import { createModelFactory, type ModelFactoryOptions } from "./model-factory.js";
import { summarizeUsageLedger, type UsageSummary } from "./usage-ledger.js";

/** Options of {@link judgeInDirectory}. */
export interface JudgeInDirectoryOptions {
  /** The run directory (it must exist; the caller holds it). */
  directory: string;
  /** The store file inside it. Default `run.sqlite`. */
  storeFile?: string;
  models: readonly string[];
  benchmarks: readonly GenerationBenchmark[];
  /** The judge model spec. */
  judge: string;
  /** Local data per benchmark (`hh-adversarial` reads the `hh-harmless` layout). */
  dataPaths?: ReadonlyMap<string, string>;
  datasetEndpoint?: string;
  /** Default `test`. */
  split?: EthicsSplit;
  /** Items (base prompts for hh-adversarial) per benchmark. Default all. */
  limit?: number;
  /** Default 0. */
  seed?: number;
  /** `sandbox`: the question pool; `hh-adversarial`: its base prompts instead of HH-RLHF's. */
  questions?: string;
  /** `sandbox`: leave out the questions of these alignment data files or run folders. */
  exclude?: readonly string[];
  /** `hh-adversarial`: jailbreak templates (GPTFuzz layout); default the shipped ones. */
  templates?: string;
  /** How models are built; the run's store is added here. */
  factory: Omit<ModelFactoryOptions, "store">;
  onEvent?: (event: GenerationEvent) => void;
  /** Told one-line notes (sandbox questions left out). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Runs or continues a judged evaluation; returns the report and its three renderings (also written). */
export async function judgeInDirectory(options: JudgeInDirectoryOptions): Promise<{
  report: GenerationReport;
  markdown: string;
  json: string;
  html: string;
  /** The run's usage ledger (answers and verdicts, every session). */
  usage: UsageSummary;
}> {
  const { directory, models: specs, judge, limit, seed = 0, factory: factoryOptions, onEvent, signal } = options;
  const store = openStore({ path: join(directory, options.storeFile ?? "run.sqlite") });
  const factory = createModelFactory({ ...factoryOptions, store });
  try {
    const models = new Map<string, LanguageModel>();
    for (const spec of specs) models.set(spec, await factory.languageModel(spec));
    const judgeModel = await factory.languageModel(judge);
    const evaluationRepository = createEvaluationRepository({ database: store.database });
    const judgeRepository = createJudgeRepository({ database: store.database });
    await runGeneration({
      evaluationRepository,
      judgeRepository,
      config: {
        mode: "generation",
        models: [...specs],
        benchmarks: [...options.benchmarks],
        judge,
        limit: limit ?? null,
        seed,
      },
      models,
      rubricJudge: createRubricJudge({ model: judgeModel }),
      pairwiseJudge: createPairwiseJudge({ model: judgeModel }),
      loadItems: (benchmark) => loadGenerationItems(options, benchmark as GenerationBenchmark),
      ...(onEvent ? { onEvent } : {}),
      ...(signal ? { signal } : {}),
    });
    const { report, markdown, json, html } = writeGenerationReportFiles({
      directory,
      evaluationRepository,
      judgeRepository,
    });
    await factory.usageMeter.idle();
    return { report, markdown, json, html, usage: summarizeUsageLedger(store) };
  } finally {
    await factory.close();
    store.close();
  }
}

async function loadGenerationItems(
  options: JudgeInDirectoryOptions,
  benchmark: GenerationBenchmark,
): Promise<GenerationItem[]> {
  const { limit } = options;
  if (benchmark === "sandbox") {
    const exclude = new Set<string>();
    for (const path of options.exclude ?? [])
      for (const question of await trainingQuestions({ path })) exclude.add(question);
    const { items, excluded } = await sandboxItems({ poolPath: options.questions as string, exclude });
    options.log?.(`sandbox: ${excluded} pool questions used in training left out`);
    return limit === undefined ? items : items.slice(0, limit);
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
        : // Its own --data first, else the hh-harmless file it wraps (the same layout), else a download.
          await likelihoodItems(options, "hh-harmless", ["hh-adversarial", "hh-harmless"]);
    const limited = limit === undefined ? baseItems : baseItems.slice(0, limit);
    // The limit applies to the base prompts here, each asked plain and under every template.
    return adversarialItems({ baseItems: limited, templates });
  }
  const items = await likelihoodItems(options, benchmark, [benchmark]);
  return limit === undefined ? items : items.slice(0, limit);
}

async function likelihoodItems(
  options: JudgeInDirectoryOptions,
  name: Exclude<GenerationBenchmark, "sandbox" | "hh-adversarial">,
  dataKeys: readonly string[],
): Promise<GenerationItem[]> {
  const split = options.split ?? "test";
  const local = dataKeys.map((key) => options.dataPaths?.get(key)).find((path) => path !== undefined);
  const path =
    local ??
    (await downloadBenchmarkData({
      benchmark: name as BenchmarkName,
      split,
      cacheDirectory: options.factory.cacheDirectory,
      ...(options.datasetEndpoint ? { endpoint: options.datasetEndpoint } : {}),
    }));
  const { items } = await benchmarkDefinition(name as BenchmarkName).load({ path, split });
  return generationItemsOf({ benchmark: name, items });
}
