/**
 * Runs (or resumes) a simulation into a run directory, with models built from specs: creates the
 * directory, takes the run lock, opens `run.sqlite`, builds the agent and observer models through the
 * model factory (response cache and usage ledger in that store), runs the rounds and releases
 * everything. `simulate` and the experiment runner both call this; checking the inputs and building
 * the configuration come first, in the caller.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defaultPriceTable, lookupPrice } from "../llm/middleware/price-table.js";
import type { UsageMeter } from "../llm/middleware/usage-meter.js";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import type { Prior } from "../sandbox/prior-loader.js";
import { runSimulation, type SimulationEvent, type SimulationResult } from "../sandbox/simulation.js";
import type { SimulationConfig } from "../sandbox/simulation-config.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { BudgetExceededError } from "../spec/errors.js";
import { openStore, type Store } from "../store/open-store.js";
import { acquireRunLock } from "../store/run-lock.js";
import { createModelFactory, type ModelFactoryOptions } from "./model-factory.js";
import { summarizeUsageLedger, type UsageSummary } from "./usage-ledger.js";

/** Options of {@link runSimulationInDirectory}. */
export interface RunSimulationInDirectoryOptions {
  config: SimulationConfig;
  /** The run directory; created when missing. A run already there is resumed. */
  runDirectory: string;
  /** How models are built (secrets, cache, prices, endpoints, test models); the store and budget are set here. */
  models: Omit<ModelFactoryOptions, "store" | "spentUsd" | "budgetUsd" | "maxConcurrency">;
  /** Spending cap in US dollars over the whole run, resumes included. Default none. */
  budgetUsd?: number;
  /** Calls in flight per HTTP endpoint. */
  maxConcurrency: number;
  /**
   * Interactions of a round in flight at once; their calls beyond `maxConcurrency` wait in a queue.
   * Default 2,048 (the simulation's `DEFAULT_MAX_CONCURRENT_INTERACTIONS`), which bounds memory at 100x100.
   */
  maxInteractionsInFlight?: number;
  embedder: EmbeddingModel;
  /** The question pool in hand-out order. */
  questions: readonly string[];
  prior: Prior;
  prompts: PromptTemplates;
  /** Progress sink, made once the usage meter exists; `stop()` is called at the end. Default none. */
  createReporter?: (usageMeter: UsageMeter) => { onEvent(event: SimulationEvent): void; stop(): void };
  signal?: AbortSignal;
}

/** What the run did and spent (usage of this session: cache hits of a resume are calls without tokens). */
export interface SimulationRunOutcome {
  result: SimulationResult;
  /** US dollars in the run's ledger, every session together. */
  spentUsd: number;
  usage: ReturnType<UsageMeter["totals"]>;
  /** The run's usage ledger summed over models and sessions (cache hits are calls without tokens). */
  ledger: UsageSummary;
}

/** Runs or resumes the simulation of `config` in `runDirectory`. */
export async function runSimulationInDirectory({
  config,
  runDirectory,
  models,
  budgetUsd,
  maxConcurrency,
  maxInteractionsInFlight,
  embedder,
  questions,
  prior,
  prompts,
  createReporter,
  signal,
}: RunSimulationInDirectoryOptions): Promise<SimulationRunOutcome> {
  mkdirSync(runDirectory, { recursive: true });
  // One process per run directory (ARCHITECTURE.md, "Run lock"); a second one is refused here.
  const lock = acquireRunLock({ directory: runDirectory, command: "simulate" });
  let store: Store;
  try {
    store = openStore({ path: join(runDirectory, "run.sqlite") });
  } catch (error) {
    lock.release();
    throw error;
  }
  const factory = createModelFactory({
    ...models,
    store,
    ...(budgetUsd === undefined ? {} : { budgetUsd }),
    // The budget covers the whole run: a resumed run starts from what its ledger already spent.
    spentUsd: store.spentUsd(),
    maxConcurrency,
  });
  const reporter = createReporter?.(factory.usageMeter);
  const prices = { ...defaultPriceTable, ...models.prices };
  try {
    const agentLanguageModels = [];
    for (const model of config.models.agents) agentLanguageModels.push(await factory.languageModel(model.spec));
    const observer = await factory.languageModel(config.models.observer);
    const result = await runSimulation({
      config,
      runDirectory,
      database: store.database,
      agentModels: agentLanguageModels,
      observer,
      embedder,
      questions,
      prior,
      prompts,
      priceOf: (model) =>
        model.pricePerMillionTokens ?? lookupPrice(prices, model.modelId) ?? { prompt: 0, completion: 0 },
      ...(reporter ? { onEvent: (event: SimulationEvent) => reporter.onEvent(event) } : {}),
      ...(signal ? { signal } : {}),
      ...(maxInteractionsInFlight === undefined
        ? {}
        : { schedule: { maxConcurrentInteractions: maxInteractionsInFlight } }),
    });
    await factory.usageMeter.idle();
    return {
      result,
      spentUsd: store.spentUsd(),
      usage: factory.usageMeter.totals(),
      ledger: summarizeUsageLedger(store),
    };
  } catch (error) {
    if (!(error instanceof BudgetExceededError)) throw error;
    // Calls still running at the refusal are spent too: report the ledger once they have settled.
    await factory.usageMeter.idle();
    throw new BudgetExceededError(store.spentUsd(), error.budgetUsd);
  } finally {
    reporter?.stop();
    await factory.close();
    store.close();
    lock.release();
  }
}
