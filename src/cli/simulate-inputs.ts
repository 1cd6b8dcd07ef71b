/**
 * What `simulate` reads before it writes anything: its options (with the stored run's values filling
 * the flags not given), the question pool and prior, and the `hf:` models it has to download.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { ensureHhRlhfDataset, HH_RLHF_FILES, loadHhRlhfQuestions } from "../data/hh-rlhf-dataset.js";
import { loadQuestionPool } from "../data/question-pool.js";
import { resolveHuggingFaceModelFile } from "../llm/hugging-face-model-file.js";
import { parseModelSpec } from "../llm/model-spec.js";
import type { RatingFormat } from "../llm/ratings.js";
import { loadPrior, type Prior } from "../sandbox/prior-loader.js";
import type { SimulationConfig } from "../sandbox/simulation-config.js";
import { STARTER_PRIOR_SIZE, STARTER_QUESTIONS, STARTER_SOURCE, starterPrior } from "../sandbox/starter-set.js";
import { CancelledError, ConfigError, StableAlignmentError } from "../spec/errors.js";
import type { InitialSetting } from "../spec/interaction-record.js";
import { huggingFaceAccess, resolveCheckpointDirectory } from "./checkpoint-source.js";
import type { CliContext } from "./cli-context.js";
import { DEFAULT_AGENT_MODEL, DEFAULT_OBSERVER_MODEL } from "./default-models.js";
import { createDownloadProgressReporter } from "./download-progress.js";

/** The parsed flags of `simulate`. */
export interface SimulateOptions {
  size: number;
  rounds?: number;
  untilPlateau?: boolean;
  plateauTolerance: number;
  plateauPatience: number;
  plateauMinRounds: number;
  setting: InitialSetting;
  targets: number;
  global?: boolean;
  dropout: number;
  scoreOnly?: boolean;
  agentModel?: { spec: string; weight: number }[];
  observerModel?: string;
  embedder: string;
  memoryThreshold?: number;
  questions?: string;
  prior?: string;
  priorSize?: number;
  dataset: "starter" | "hh-rlhf";
  shuffleQuestions?: boolean;
  prompts?: string;
  seed: number;
  concurrency?: number;
  interactionsInFlight?: number;
  budget?: number;
  runDir?: string;
  resume?: boolean;
  json?: boolean;
  /** Print the cost estimate and stop. */
  estimate?: boolean;
  /** Earlier run directories the estimate measures. */
  estimateFrom?: string[];
  ratingAttempts: number;
  ratingFormat: RatingFormat;
  temperature: number;
  maxTokens: number;
  observerTemperature: number;
  observerMaxTokens: number;
  agentSystemPrompt: boolean;
  allowTestModels?: boolean;
}

/** What tests may replace. */
export interface SimulateDependencies {
  /** Fetch for dataset downloads. Default `globalThis.fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

/** Flags not given on the command line or in the config file take the stored run's values. */
export function fillFromStoredConfig(options: SimulateOptions, command: Command, stored: SimulationConfig): void {
  const given = (key: string): boolean => {
    const source = command.getOptionValueSource(key);
    return source !== undefined && source !== "default";
  };
  const take = <K extends keyof SimulateOptions>(key: K, value: SimulateOptions[K]): void => {
    if (!given(key as string)) options[key] = value;
  };
  take("size", stored.world.size);
  take("setting", stored.world.setting);
  take("seed", stored.world.seed);
  if (!given("rounds") && !given("untilPlateau")) {
    options.rounds = stored.rounds;
    options.untilPlateau = stored.untilPlateau !== null;
    if (stored.untilPlateau !== null) {
      options.plateauTolerance = stored.untilPlateau.tolerance;
      options.plateauPatience = stored.untilPlateau.patience;
      options.plateauMinRounds = stored.untilPlateau.minimumRounds;
    }
  }
  take("targets", stored.selection.targets);
  take("global", stored.selection.global);
  take("dropout", stored.selection.dropout);
  take("scoreOnly", stored.backScatter.scoreOnly);
  take("ratingAttempts", stored.backScatter.maxRatingAttempts);
  take("ratingFormat", stored.backScatter.ratingFormat);
  take("temperature", stored.backScatter.agentSampling.temperature ?? 1);
  take("maxTokens", stored.backScatter.agentSampling.maxTokens ?? 256);
  take("observerTemperature", stored.backScatter.observerSampling.temperature ?? 1);
  take("observerMaxTokens", stored.backScatter.observerSampling.maxTokens ?? 256);
  take("agentSystemPrompt", stored.backScatter.agentSystemPrompt);
  take("agentModel", stored.models.agents);
  take("observerModel", stored.models.observer);
  take("embedder", stored.models.embedder);
  take("memoryThreshold", stored.memory.distanceThreshold);
  take("priorSize", stored.memory.priorSize);
  take("shuffleQuestions", stored.questions.shuffled);
  const runtime = stored.runtime ?? {};
  if (!given("questions") && !given("prior") && !given("dataset") && typeof runtime.dataset === "string") {
    options.dataset = runtime.dataset as SimulateOptions["dataset"];
    if (typeof runtime.questionsFile === "string") options.questions = runtime.questionsFile;
    if (typeof runtime.priorFile === "string") options.prior = runtime.priorFile;
  }
  if (!given("prompts") && typeof runtime.promptDirectory === "string") options.prompts = runtime.promptDirectory;
}

/** The question pool and prior: from files, the HH-RLHF download or the built-in starter set. */
export async function loadInputs(
  options: SimulateOptions,
  context: CliContext,
  dependencies: SimulateDependencies,
  signal: AbortSignal,
) {
  let questionSource: string;
  let pool: string[];
  let prior: Prior;
  let defaultPriorSize = 50;
  if (options.dataset === "hh-rlhf" && (options.questions === undefined || options.prior === undefined)) {
    const dataset = await ensureHhRlhfDataset({
      cacheDirectory: context.cacheDirectory,
      ...(context.environment.HF_ENDPOINT ? { endpoint: context.environment.HF_ENDPOINT } : {}),
      ...(dependencies.fetch === undefined ? {} : { fetch: dependencies.fetch }),
      signal,
      onProgress: createDownloadProgressReporter(context.stderr),
    });
    questionSource =
      options.questions === undefined ? `hh-rlhf:${HH_RLHF_FILES.questions}` : resolve(options.questions);
    pool =
      options.questions === undefined
        ? await loadHhRlhfQuestions({ path: dataset.questionsPath })
        : await loadQuestionPool({ path: resolve(options.questions) });
    prior =
      options.prior === undefined
        ? { ...(await loadPrior({ path: dataset.priorPath })), source: `hh-rlhf:${HH_RLHF_FILES.prior}` }
        : await loadPrior({ path: resolve(options.prior) });
  } else {
    questionSource = options.questions === undefined ? STARTER_SOURCE : resolve(options.questions);
    pool =
      options.questions === undefined
        ? [...STARTER_QUESTIONS]
        : await loadQuestionPool({ path: resolve(options.questions) });
    prior = options.prior === undefined ? starterPrior() : await loadPrior({ path: resolve(options.prior) });
    if (options.prior === undefined) defaultPriorSize = STARTER_PRIOR_SIZE;
  }
  return { questionSource, pool, prior, defaultPriorSize };
}

/**
 * Downloads `hf:` models before the run directory is written, so that an offline machine without the
 * default model fails with nothing written and a message that says how to name other models.
 */
export async function fetchHuggingFaceModels({
  specs,
  usesDefaultModel,
  context,
  signal,
}: {
  specs: readonly string[];
  usesDefaultModel: boolean;
  context: CliContext;
  signal: AbortSignal;
}): Promise<void> {
  const reporter = createDownloadProgressReporter(context.stderr);
  for (const spec of new Set(specs)) {
    const parsed = parseModelSpec(spec);
    if (parsed.provider !== "hf" && parsed.provider !== "hf-checkpoint") continue;
    try {
      if (parsed.provider === "hf-checkpoint") {
        await resolveCheckpointDirectory({ model: parsed.uri, context, onProgress: reporter, signal });
        continue;
      }
      await resolveHuggingFaceModelFile({
        uri: parsed.uri,
        cacheDirectory: context.cacheDirectory,
        ...huggingFaceAccess(context),
        onProgress: (progress) => reporter({ file: parsed.uri, ...progress }),
        signal,
      });
    } catch (error) {
      const isDefault = usesDefaultModel && (spec === DEFAULT_AGENT_MODEL || spec === DEFAULT_OBSERVER_MODEL);
      if (isDefault && error instanceof StableAlignmentError && !(error instanceof CancelledError)) {
        throw new ConfigError(
          `the default model ${spec} is not cached and could not be downloaded (${error.message}). ` +
            "Pass the models to use: --agent-model <spec> --observer-model <spec>, e.g. gguf:./model.gguf, " +
            "openai:gpt-4o-mini (with OPENAI_API_KEY) or openai:<model>@http://127.0.0.1:8000/v1",
          { field: "agent-model", cause: error },
        );
      }
      throw error;
    }
  }
}
