/**
 * `stable-alignment simulate`: runs (or resumes) a SANDBOX society (SPEC 1). Everything is checked
 * before the run directory is touched; the run directory then holds `run.sqlite` (every step, the
 * response cache), `config.json` (the resolved configuration) and `records.jsonl`. Rerunning with the
 * same run directory resumes; flags not given are taken from its `config.json`.
 */
import { setMaxListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { orderQuestions } from "../data/question-pool.js";
import { runSimulationInDirectory } from "../experiment/simulation-run.js";
import { loadPromptTemplates } from "../llm/prompts/prompt-templates.js";
import type { RatingFormat } from "../llm/ratings.js";
import { DEFAULT_PLATEAU_SETTINGS } from "../sandbox/plateau.js";
import { DEFAULT_MAX_CONCURRENT_INTERACTIONS } from "../sandbox/simulation.js";
import { assertResumable, resolveSimulationConfig, type SimulationConfig } from "../sandbox/simulation-config.js";
import { STARTER_PRIOR_SIZE } from "../sandbox/starter-set.js";
import { CancelledError, ConfigError, UsageError } from "../spec/errors.js";
import { INITIAL_SETTINGS, type InitialSetting } from "../spec/interaction-record.js";
import { type CliContext, createCliContext, resolveCommandOptions } from "./cli-context.js";
import { DEFAULT_AGENT_MODEL, DEFAULT_EMBEDDER, DEFAULT_OBSERVER_MODEL } from "./default-models.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { createModelFactory, modelFactorySettings } from "./model-factory.js";
import { checkModelsUsable } from "./model-preflight.js";
import { embeddingSpecOption, integerOption, modelSpecOption, numberOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";
import { printSimulationEstimate } from "./simulate-estimate.js";
import {
  fetchHuggingFaceModels,
  fillFromStoredConfig,
  loadInputs,
  type SimulateDependencies,
  type SimulateOptions,
} from "./simulate-inputs.js";
import { createSimulateReporter } from "./simulate-progress.js";

export type { SimulateDependencies, SimulateOptions } from "./simulate-inputs.js";

/**
 * Calls in flight per HTTP endpoint unless `--concurrency` or the config says otherwise. A round
 * offers hundreds of independent calls; the endpoint limiter halves this on the first 429 and grows
 * back, so a high start costs a rate-limited account little. In-process GGUF models use their
 * parallel sequences (4) whatever this says.
 */
const DEFAULT_HTTP_CONCURRENCY = 64;

/** Rounds when `--until-plateau` is given without `--rounds`: the reference world's 50. */
const PLATEAU_ROUND_CAP = 50;

/**
 * `--agent-model <spec>[=<weight>]`: the text after the last `=` is the weight, a positive number
 * (a spec that needs a literal `=` takes an explicit weight, `...=1`). Bad values are usage errors.
 */
function parseAgentModel(value: string, previous: { spec: string; weight: number }[] | undefined) {
  const equals = value.lastIndexOf("=");
  const spec = equals < 0 ? value : value.slice(0, equals);
  const weightText = equals < 0 ? "1" : value.slice(equals + 1);
  const weight = Number(weightText);
  if (weightText.trim() === "" || !Number.isFinite(weight) || weight <= 0) {
    throw new InvalidArgumentError(`--agent-model weight must be a positive number, got "${weightText}" in "${value}"`);
  }
  return [...(previous ?? []), { spec: modelSpecOption("--agent-model")(spec), weight }];
}

/** Registers `simulate` on the program. */
export function registerSimulateCommand(program: Command, dependencies: SimulateDependencies = {}): void {
  program
    .command("simulate")
    .description("run a SANDBOX society: agents answer, rate and revise; observers score (resumable)")
    .option(
      "--size <n>",
      "grid side: size x size agents (at least 2: an agent needs someone to give feedback)",
      integerOption("--size", { min: 2, max: 100 }),
      4,
    )
    .option(
      "--rounds <n>",
      "rounds to run (default 2; the cap with --until-plateau, default 50)",
      integerOption("--rounds", { min: 1 }),
    )
    .option("--until-plateau", "stop when mean alignment x engagement after revision stops improving (SPEC 1.8)")
    .option(
      "--plateau-tolerance <fraction>",
      "relative gain that counts as improvement",
      numberOption("--plateau-tolerance", { min: 0 }),
      DEFAULT_PLATEAU_SETTINGS.tolerance,
    )
    .option(
      "--plateau-patience <rounds>",
      "rounds without improvement before stopping",
      integerOption("--plateau-patience", { min: 1 }),
      DEFAULT_PLATEAU_SETTINGS.patience,
    )
    .option(
      "--plateau-min-rounds <rounds>",
      "rounds always run",
      integerOption("--plateau-min-rounds", { min: 1 }),
      DEFAULT_PLATEAU_SETTINGS.minimumRounds,
    )
    .addOption(
      new Option("--setting <name>", "initial world view")
        .choices([...INITIAL_SETTINGS])
        .default("mixed_half_half" as InitialSetting),
    )
    .option(
      "--targets <n>",
      "feedback givers per interaction (at most size^2 - 1; corner cells with fewer neighbours take all of them)",
      integerOption("--targets", { min: 1 }),
      4,
    )
    .option("--global", "global interaction: mix non-neighbours into the feedback givers")
    .option(
      "--dropout <fraction>",
      "share of neighbours dropped under --global",
      numberOption("--dropout", { min: 0, max: 1 }),
      0.5,
    )
    .option("--score-only", "revise from the mean rating alone, without the reasons")
    .option(
      "--agent-model <spec[=weight]>",
      `agent model; repeat with weights for a mixed society (default ${DEFAULT_AGENT_MODEL})`,
      parseAgentModel,
    )
    .option(
      "--observer-model <spec>",
      `observer model (default ${DEFAULT_OBSERVER_MODEL})`,
      modelSpecOption("--observer-model"),
    )
    .option(
      "--embedder <spec>",
      "memory embedder: lexical, openai:<model>[@url] or gguf:<path>",
      embeddingSpecOption("--embedder"),
      DEFAULT_EMBEDDER,
    )
    .option(
      "--memory-threshold <distance>",
      "cosine distance for memory retrieval (default: the embedder's; 0.4 lexical, 0.3 ada-002-like)",
      numberOption("--memory-threshold", { min: 0, max: 2 }),
    )
    .option("--questions <file>", "question pool: text, one per line, or JSONL {question}")
    .option("--prior <file>", "prior world view: JSONL {question, answer, label} or HH-RLHF {chosen, rejected}")
    .option(
      "--prior-size <n>",
      `prior pairs per agent (default 50; ${STARTER_PRIOR_SIZE} with the starter set)`,
      integerOption("--prior-size", { min: 1 }),
    )
    .option(
      "--dataset <name>",
      "questions and prior when no files are given: starter (built in) or hh-rlhf (downloaded once)",
      (value: string) => {
        if (value !== "starter" && value !== "hh-rlhf")
          throw new InvalidArgumentError(`--dataset must be starter or hh-rlhf, got "${value}"`);
        return value;
      },
      "starter",
    )
    .option("--shuffle-questions", "hand out questions in a seeded random order instead of file order")
    .option("--prompts <dir>", "directory of prompt template overrides (<name>.txt)")
    .option("--seed <n>", "seed of every random choice", integerOption("--seed", { min: 0 }), 0)
    .option(
      "--concurrency <n>",
      "calls in flight per HTTP endpoint, adaptive on 429 (default 64, or the config's endpoints.maxConcurrency); in-process GGUF models run 4 sequences",
      integerOption("--concurrency", { min: 1 }),
    )
    .option(
      "--interactions-in-flight <n>",
      `interactions of a round in flight at once (default ${DEFAULT_MAX_CONCURRENT_INTERACTIONS}); their calls beyond --concurrency wait in a queue, and fewer hold less memory`,
      integerOption("--interactions-in-flight", { min: 1 }),
    )
    .option("--budget <usd>", "stop cleanly once this many US dollars are spent", numberOption("--budget", { min: 0 }))
    .option("--run-dir <dir>", "run directory (default runs/sandbox-<size>x<size>-<setting>-seed<seed>)")
    .option("--resume", "resume the run in --run-dir (it must exist); flags not given come from its config.json")
    .option("--json", "print JSON lines (run-start, round-start, round-end, run-end) instead of tables")
    .option(
      "--estimate",
      "print the run's calls, tokens, US dollars and wall time, then stop (no model called, nothing written)",
    )
    .option(
      "--estimate-from <dirs...>",
      "earlier run directories whose answer lengths, re-asks, retries and latency --estimate uses",
    )
    .option(
      "--rating-attempts <n>",
      "calls per rating at most (first ask plus re-asks)",
      integerOption("--rating-attempts", { min: 1 }),
      3,
    )
    .option(
      "--rating-format <format>",
      "auto (grammar, else JSON schema, else text), text, json-schema or grammar",
      (value: string) => {
        if (!["auto", "text", "json-schema", "grammar"].includes(value))
          throw new InvalidArgumentError(`--rating-format must be auto, text, json-schema or grammar, got "${value}"`);
        return value as RatingFormat;
      },
      "auto" as RatingFormat,
    )
    .option("--temperature <t>", "agent sampling temperature", numberOption("--temperature", { min: 0, max: 2 }), 1)
    .option("--max-tokens <n>", "most new tokens per agent call", integerOption("--max-tokens", { min: 1 }), 256)
    .option(
      "--observer-temperature <t>",
      "observer sampling temperature",
      numberOption("--observer-temperature", { min: 0, max: 2 }),
      1,
    )
    .option(
      "--observer-max-tokens <n>",
      "most new tokens per observer call",
      integerOption("--observer-max-tokens", { min: 1 }),
      256,
    )
    .option("--no-agent-system-prompt", "do not give chat agents the system prompt that asks for no warnings")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp())
    .action(async (_options: SimulateOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<SimulateOptions & Record<string, unknown>>(command, context);
      await simulate({ options, command, context, dependencies });
    });
}

async function simulate({
  options,
  command,
  context,
  dependencies,
}: {
  options: SimulateOptions;
  command: Command;
  context: CliContext;
  dependencies: SimulateDependencies;
}): Promise<void> {
  const runDirectory = checkOutputPath({
    path:
      options.runDir ?? join("runs", `sandbox-${options.size}x${options.size}-${options.setting}-seed${options.seed}`),
    flag: "--run-dir",
    kind: "directory",
  });
  const configPath = join(runDirectory, "config.json");
  let stored: SimulationConfig | undefined;
  if (existsSync(configPath)) {
    try {
      stored = JSON.parse(readFileSync(configPath, "utf8")) as SimulationConfig;
    } catch (cause) {
      throw new ConfigError(`${configPath}: not valid JSON; move the run directory away or fix the file`, {
        file: configPath,
        cause,
      });
    }
    fillFromStoredConfig(options, command, stored);
  } else if (options.resume) {
    throw new ConfigError(`--resume: ${runDirectory} holds no run (no config.json); drop --resume to start one`, {
      field: "resume",
      file: configPath,
    });
  }
  // A --targets the user chose that no world of this size can meet is nonsense; the default 4 in a 2x2
  // world simply takes every neighbour there is (SPEC 1.6).
  const otherAgents = options.size * options.size - 1;
  const targetsChosen =
    command.getOptionValueSource("targets") === "cli" || context.config.commands?.simulate?.targets !== undefined;
  if (targetsChosen && options.targets > otherAgents) {
    throw new UsageError(
      `--targets ${options.targets} is more than the ${otherAgents} other agents of a ${options.size}x${options.size} world`,
      { field: "targets" },
    );
  }
  const abort = new AbortController();
  // Every call in flight listens on the one signal; hundreds at once are expected, not a leak.
  setMaxListeners(0, abort.signal);
  const onInterrupt = () => abort.abort();
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onInterrupt);
  try {
    await runCommand({ options, context, dependencies, runDirectory, configPath, stored, signal: abort.signal });
  } catch (error) {
    if (error instanceof CancelledError) {
      throw new CancelledError(`stopped; rerun with --run-dir ${runDirectory} to resume`);
    }
    throw error;
  } finally {
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
  }
}

async function runCommand({
  options,
  context,
  dependencies,
  runDirectory,
  configPath,
  stored,
  signal,
}: {
  options: SimulateOptions;
  context: CliContext;
  dependencies: SimulateDependencies;
  runDirectory: string;
  configPath: string;
  stored: SimulationConfig | undefined;
  signal: AbortSignal;
}): Promise<void> {
  const agentModels = options.agentModel ?? [{ spec: context.config.models?.agent ?? DEFAULT_AGENT_MODEL, weight: 1 }];
  const observerSpec = options.observerModel ?? context.config.models?.observer ?? DEFAULT_OBSERVER_MODEL;
  const usesDefaultModel = options.agentModel === undefined || options.observerModel === undefined;
  // Models are checked before anything is read, downloaded or written.
  checkModelsUsable({
    specs: [...agentModels.map((model) => model.spec), observerSpec],
    embedder: options.embedder,
    environment: context.environment,
    allowTestModels: options.allowTestModels === true,
  });
  const prompts = loadPromptTemplates(
    options.prompts === undefined ? {} : { overrideDirectory: resolve(options.prompts) },
  );
  const { questionSource, pool, prior, defaultPriorSize } = await loadInputs(options, context, dependencies, signal);
  const embedderFactory = createModelFactory({ context });
  const embedder = await embedderFactory.embeddingModel(options.embedder);
  const rounds = options.rounds ?? (options.untilPlateau ? PLATEAU_ROUND_CAP : 2);
  const shuffled = options.shuffleQuestions === true;
  const config = resolveSimulationConfig({
    size: options.size,
    setting: options.setting,
    seed: options.seed,
    rounds,
    untilPlateau: options.untilPlateau
      ? {
          tolerance: options.plateauTolerance,
          patience: options.plateauPatience,
          minimumRounds: options.plateauMinRounds,
        }
      : null,
    targets: options.targets,
    global: options.global === true,
    dropout: options.dropout,
    scoreOnly: options.scoreOnly === true,
    maxRatingAttempts: options.ratingAttempts,
    ratingFormat: options.ratingFormat,
    agentSampling: { temperature: options.temperature, maxTokens: options.maxTokens },
    observerSampling: { temperature: options.observerTemperature, maxTokens: options.observerMaxTokens },
    agentSystemPrompt: options.agentSystemPrompt,
    agentModels,
    observerModel: observerSpec,
    embedder: {
      modelId: options.embedder,
      distanceThreshold: options.memoryThreshold ?? embedder.defaultDistanceThreshold,
    },
    priorSize: options.priorSize ?? defaultPriorSize,
    questions: { source: questionSource, pool, shuffled },
    prior,
    prompts,
    runtime: {
      dataset: options.dataset,
      ...(options.questions === undefined ? {} : { questionsFile: resolve(options.questions) }),
      ...(options.prior === undefined ? {} : { priorFile: resolve(options.prior) }),
      ...(options.prompts === undefined ? {} : { promptDirectory: resolve(options.prompts) }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.budget === undefined ? {} : { budgetUsd: options.budget }),
    },
  });
  if (stored !== undefined) assertResumable(stored, config, configPath);
  const concurrency = options.concurrency ?? context.config.endpoints?.maxConcurrency ?? DEFAULT_HTTP_CONCURRENCY;
  if (options.estimate === true) {
    await embedderFactory.close();
    printSimulationEstimate({ options, context, config, pool, prior, prompts, runDirectory, concurrency });
    return;
  }
  await fetchHuggingFaceModels({
    specs: [...agentModels.map((model) => model.spec), observerSpec],
    usesDefaultModel,
    context,
    signal,
  });

  // Everything is checked: from here on the run directory is written.
  await runSimulationInDirectory({
    config,
    runDirectory,
    models: {
      ...modelFactorySettings(context, { allowTestModels: options.allowTestModels === true }),
      onDownloadProgress: createDownloadProgressReporter(context.stderr),
    },
    ...((options.budget ?? context.config.budgetUsd) === undefined
      ? {}
      : { budgetUsd: options.budget ?? context.config.budgetUsd }),
    maxConcurrency: concurrency,
    ...(options.interactionsInFlight === undefined ? {} : { maxInteractionsInFlight: options.interactionsInFlight }),
    embedder,
    questions: orderQuestions(pool, { shuffled, seed: options.seed }),
    prior,
    prompts,
    createReporter: (usageMeter) =>
      createSimulateReporter({
        stdout: context.stdout,
        stderr: context.stderr as NodeJS.WritableStream & { isTTY?: boolean },
        json: options.json === true,
        usageMeter,
        runDirectory,
      }),
    signal,
  }).finally(() => embedderFactory.close());
}
