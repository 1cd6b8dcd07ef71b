/**
 * What each node kind does, through the same library functions the commands call: `model init`
 * (initializeModel), `simulate` (runSimulationInDirectory), `data build` (buildAlignmentData),
 * `train` (trainRun), `model export` (exportModel) and `eval run` (evaluateInDirectory). A node
 * interrupted mid-way resumes in place: the simulation and the evaluation continue from their stores,
 * training from its newest checkpoint; the other steps write atomically and simply run again.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildAlignmentData } from "../data/build-alignment-data.js";
import { parseDataMix } from "../data/data-mix.js";
import { createBlas } from "../engine/index.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { defaultVocabularySize, exportModel, initializeModel } from "../model/model-directory.js";
import { assertResumable, type SimulationConfig } from "../sandbox/simulation-config.js";
import { CancelledError, ConfigError } from "../spec/errors.js";
import { torchTrainRun } from "../train/torch-train-run.js";
import { type TrainingEvent, trainRun } from "../train/train-run.js";
import { defaultTrainingSettings, type TrainingSettings } from "../train/training-settings.js";
import { runEvaluationStep } from "./experiment-evaluation-step.js";
import { modelDirectoryOf, type StepContext, type StepOutcome, upstreamOf } from "./experiment-step-context.js";
import { createModelFactory } from "./model-factory.js";
import { type ModelServer, startModelServer } from "./model-server.js";
import type { Recipe } from "./recipe.js";
import { recipePath } from "./recipe.js";
import { runSimulationInDirectory } from "./simulation-run.js";
import { societyConfiguration, societyInputs } from "./society-configuration.js";

async function runModelInit(context: StepContext): Promise<StepOutcome> {
  const start = context.recipe.training.start;
  if (!("init" in start)) throw new ConfigError("internal: model-init without training.start.init");
  let files = (start.tokenizerFiles ?? []).map((path) => recipePath(context.recipeDirectory, path));
  if (start.tokenizer === undefined && start.tokenizerFiles === undefined) {
    // Default corpus: what the society will say, its questions and prior answers.
    const inputs = await societyInputs(context.recipe, context.recipeDirectory);
    const corpus = join(context.node.directory, "tokenizer-corpus.txt");
    const answers = [...inputs.prior.answers.good, ...inputs.prior.answers.bad].flatMap((pair) => [
      pair.question,
      pair.answer,
    ]);
    writeFileAtomically({ path: corpus, data: `${[...new Set([...inputs.pool, ...answers])].join("\n")}\n` });
    files = [corpus];
  }
  const result = await initializeModel({
    shape: start.init,
    tokenizer:
      start.tokenizer !== undefined
        ? { kind: "directory", directory: recipePath(context.recipeDirectory, start.tokenizer) }
        : { kind: "train", files, vocabularySize: start.vocab ?? defaultVocabularySize(start.init) },
    directory: join(context.node.directory, "model"),
    replace: true,
    blas: createBlas({ threads: context.recipe.training.threads }),
    seed: start.seed,
  });
  return { details: { parameters: result.parameters } };
}

async function runSociety(context: StepContext): Promise<StepOutcome> {
  const { recipe, node } = context;
  const { society } = recipe;
  const served = context.node.upstream.map((name) => context.nodes.get(name)).find((upstream) => upstream);
  const serving = recipe.serving;
  const threads = serving.kind === "gguf" ? serving.threads : recipe.training.threads;
  const embedderFactory = createModelFactory(context.models);
  let server: ModelServer | undefined;
  try {
    if (served !== undefined && serving.kind === "server") {
      server = await startModelServer({
        command: serving.command,
        model: join(served.directory, "model.gguf"),
        url: serving.url,
        readyTimeoutMs: serving.readySeconds * 1000,
        ...(context.signal ? { signal: context.signal } : {}),
      });
    }
    const embedder = await embedderFactory.embeddingModel(society.embedder);
    const { config, questions, inputs, prompts, agentModels } = await societyConfiguration({
      recipe,
      recipeDirectory: context.recipeDirectory,
      node,
      nodes: context.nodes,
      distanceThreshold: embedder.defaultDistanceThreshold,
    });
    const runDirectory = join(node.directory, "run");
    const configPath = join(runDirectory, "config.json");
    if (existsSync(configPath)) {
      assertResumable(JSON.parse(readFileSync(configPath, "utf8")) as SimulationConfig, config, configPath);
    }
    const outcome = await runSimulationInDirectory({
      config,
      runDirectory,
      models: { ...context.models, llamaThreads: threads, localThreads: threads },
      maxConcurrency: society.concurrency,
      embedder,
      questions,
      prior: inputs.prior,
      prompts,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    return {
      usage: outcome.ledger,
      details: {
        agents: agentModels,
        questions: questions.length,
        roundsCompleted: outcome.result.roundsCompleted,
        summaries: outcome.result.summaries,
      },
    };
  } finally {
    await embedderFactory.close();
    await server?.close();
  }
}

async function runDataBuild(context: StepContext): Promise<StepOutcome> {
  const society = upstreamOf(context, "society");
  if (society === undefined) throw new ConfigError("internal: data without its society");
  const report = await buildAlignmentData({
    runs: [join(society.directory, "run")],
    out: join(context.node.directory, "data.json"),
    mix: parseDataMix(context.recipe.data.mix),
    seed: context.recipe.data.seed,
  });
  const kinds = Object.fromEntries(
    Object.entries(report.kinds).map(([kind, counts]) => [
      kind,
      { examples: counts.writtenExamples, responses: counts.writtenResponses },
    ]),
  );
  return { details: { records: report.records, kinds, writtenExamples: report.writtenExamples } };
}

/** The training settings of the recipe: the defaults for its start, then its objective, LoRA and hyperparameters. */
export function trainingSettingsOf(recipe: Recipe): TrainingSettings {
  const { training } = recipe;
  const { stages, ...hyperparameters } = training.hyperparameters;
  return {
    ...defaultTrainingSettings({ start: "init" in training.start ? "init" : "pretrained" }),
    ...hyperparameters,
    ...(stages === undefined ? {} : { stages }),
    loss: training.objective,
    lora:
      training.lora === undefined
        ? undefined
        : {
            rank: training.lora.rank,
            alpha: training.lora.alpha ?? 2 * training.lora.rank,
            dropout: training.lora.dropout,
            targets: training.lora.targets,
          },
  };
}

async function runTraining(context: StepContext): Promise<StepOutcome> {
  const data = upstreamOf(context, "data");
  if (data === undefined) throw new ConfigError("internal: train without its data");
  const start = await modelDirectoryOf(context, upstreamOf(context, "train") ?? upstreamOf(context, "model-init"));
  const out = join(context.node.directory, "run");
  let last: { step: number; loss: number } | undefined;
  const { training } = context.recipe;
  const common = {
    model: start,
    data: join(data.directory, "data.json"),
    out,
    settings: trainingSettingsOf(context.recipe),
    // Continue an interrupted run (it has written its settings) from its newest checkpoint.
    resume: existsSync(join(out, "training.json")),
    merge: training.lora !== undefined,
    onEvent: (event: TrainingEvent) => {
      if (event.type === "step") last = { step: event.step, loss: event.loss };
    },
    ...(context.signal ? { signal: context.signal } : {}),
  };
  const result =
    training.backend === "torch"
      ? await torchTrainRun({ ...common, launch: training.torch })
      : await trainRun({ ...common, blas: createBlas({ threads: training.threads }) });
  if (context.signal?.aborted) throw new CancelledError(`training stopped at step ${result.cursor.step}`);
  if (!result.finished || result.modelDirectory === undefined) {
    throw new ConfigError(`${out}: training ended without a final model; rerun the experiment to resume it`);
  }
  return { details: { steps: result.cursor.step, ...(last ? { lastLoss: last.loss } : {}) } };
}

async function runExport(context: StepContext): Promise<StepOutcome> {
  const serving = context.recipe.serving;
  const directory = await modelDirectoryOf(context, upstreamOf(context, "train"));
  await exportModel({
    directory,
    out: join(context.node.directory, "model.gguf"),
    format: "gguf",
    dtype: serving.kind === "local" ? "f32" : serving.dtype,
  });
  return {};
}

/** Runs one node's step in its directory (which exists). */
export function runStep(context: StepContext): Promise<StepOutcome> {
  switch (context.node.kind) {
    case "model-init":
      return runModelInit(context);
    case "society":
      return runSociety(context);
    case "data":
      return runDataBuild(context);
    case "train":
      return runTraining(context);
    case "export":
      return runExport(context);
    case "evaluation":
      return runEvaluationStep(context);
  }
}
