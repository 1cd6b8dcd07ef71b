/**
 * The simulation loop (SPEC 1.5, 1.8): rounds with a barrier between them, a round's interactions
 * started in agent order with up to `maxConcurrentInteractions` in flight (the model stack's endpoint
 * limiter bounds the calls), memory read through a per-round snapshot, every step persisted, and records appended to `records.jsonl` at each barrier.
 * A rerun with the same run directory resumes: completed rounds are skipped, complete interactions
 * are not run again, and a half-done one continues from its last persisted step.
 */
import { join } from "node:path";
import type Database from "better-sqlite3";
import { questionsForRound } from "../data/question-pool.js";
import type { UnitVector } from "../llm/cosine-distance.js";
import { defaultPriceTable, lookupPrice } from "../llm/middleware/price-table.js";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { BudgetExceededError, CancelledError, ConfigError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { LanguageModel } from "../spec/language-model.js";
import {
  createSimulationRepository,
  type StoredInteraction,
  type StoredMemory,
  type StoredRetrieval,
} from "../store/simulation-repository.js";
import { type BackScatterSettings, runInteraction } from "./back-scatter.js";
import { embedUnitVectors } from "./embedding-batches.js";
import { createMemoryBank } from "./memory.js";
import { reachedPlateau } from "./plateau.js";
import { type Prior, samplePriorMemories } from "./prior-loader.js";
import {
  createRoundRecordsAppender,
  type RoundRecordsAppender,
  syncRecordsFile,
  writeRoundRecords,
} from "./records-file.js";
import { runRounds } from "./round-scheduler.js";
import { type RoundSummary, summariseRound } from "./round-summary.js";
import { type SimulationConfig, simulationRunId } from "./simulation-config.js";
import { roundTargets, validateTargetSettings } from "./target-selection.js";
import { createTurnWriter } from "./turn-writer.js";
import { createWorld, type World } from "./world.js";

/** Progress events, in the order they happen. */
export type SimulationEvent =
  | { type: "run-start"; runId: string; resumed: boolean; firstRound: number; maxRounds: number; agents: number }
  | { type: "round-start"; round: number; interactions: number; alreadyComplete: number }
  | { type: "step-complete"; round: number; agentId: number; step: string; peerId: number | undefined }
  | { type: "interaction-complete"; round: number; agentId: number; record: InteractionRecord }
  | { type: "round-end"; round: number; summary: RoundSummary }
  | { type: "run-end"; runId: string; roundsCompleted: number; reason: "rounds" | "plateau" };

/** How interactions are scheduled (the bench compares ours with the reference's). */
export interface SimulationSchedule {
  /** Interactions in flight at once within a round. Default {@link DEFAULT_MAX_CONCURRENT_INTERACTIONS}. */
  maxConcurrentInteractions?: number;
  /** Calls within an interaction: `concurrent` (default) or `sequential` (the reference). */
  callOrder?: BackScatterSettings["callOrder"];
  /**
   * Start an interaction of the next round once the interactions it reads are complete, before the
   * round's barrier (round-scheduler.ts): default true, and off with a plateau (the barrier decides
   * whether there is a next round). The reference waits for every barrier. The records are the same.
   */
  overlapRounds?: boolean;
}

/**
 * Interactions in flight by default: 2,048. Each has 1 to 6 calls ready at a time, so this keeps
 * endpoints with thousands of concurrent slots busy, while a 100x100 society no longer queues 70,000
 * requests at once (the queue, not the work, was what grew its memory past 1.5 GB). Records do not
 * depend on it: every choice is seeded by round, agent and step, and reads see the round's snapshot.
 */
export const DEFAULT_MAX_CONCURRENT_INTERACTIONS = 2048;

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  config: SimulationConfig;
  /** Where `config.json` and `records.jsonl` go (it must exist). */
  runDirectory: string;
  /** The run's SQLite database with migrations applied (from `openStore`). */
  database: Database.Database;
  /** One model per entry of `config.models.agents`, same order. */
  agentModels: readonly LanguageModel[];
  observer: LanguageModel;
  embedder: EmbeddingModel;
  /** The question pool in hand-out order. */
  questions: readonly string[];
  prior: Prior;
  prompts: PromptTemplates;
  schedule?: SimulationSchedule;
  /** US dollars per million tokens of a model, for the records' `usage.cost_usd`. Default: the model's own price, else the built-in table, else 0. */
  priceOf?: (model: LanguageModel) => { prompt: number; completion: number };
  onEvent?: (event: SimulationEvent) => void;
  signal?: AbortSignal;
}

/** What a finished (or stopped-at-plateau) run did. */
export interface SimulationResult {
  runId: string;
  roundsCompleted: number;
  stoppedAtPlateau: boolean;
  summaries: RoundSummary[];
  recordsPath: string;
}

function writeConfigFile(runDirectory: string, config: SimulationConfig): void {
  writeFileAtomically({ path: join(runDirectory, "config.json"), data: `${JSON.stringify(config, null, 2)}\n` });
}

const defaultPrice = (model: LanguageModel) =>
  model.pricePerMillionTokens ?? lookupPrice(defaultPriceTable, model.modelId) ?? { prompt: 0, completion: 0 };

/** Runs or resumes a simulation to `config.rounds` rounds (or a plateau). */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { config, runDirectory, database, observer, embedder, questions, prior, prompts, signal } = options;
  const emit = options.onEvent ?? (() => {});
  if (options.agentModels.length !== config.models.agents.length) {
    throw new ConfigError(
      `${config.models.agents.length} agent models configured but ${options.agentModels.length} given`,
    );
  }
  validateTargetSettings(config.selection, config.world.size);
  const repository = createSimulationRepository(database);
  const runId = simulationRunId(config);
  const others = repository.listRunIds().filter((id) => id !== runId);
  if (others.length > 0) {
    throw new ConfigError(`${runDirectory} holds another simulation (run ${others[0]}); choose another --run-dir`, {
      field: "run-dir",
    });
  }
  const world: World = createWorld({
    ...config.world,
    modelWeights: config.models.agents.map((agent) => agent.weight),
  });
  const modelSpecOf = (index: number): string => config.models.agents[index]?.spec ?? "";
  const resumed = repository.findRun(runId) !== undefined;
  if (resumed) {
    const stored = repository.loadAgents(runId);
    const mismatch = stored.find((agent) => world.agents[agent.agentId]?.label !== agent.label);
    if (stored.length !== world.agents.length || mismatch !== undefined) {
      throw new ConfigError(`${runDirectory}: stored agents do not match the world this configuration builds`);
    }
    repository.appendEvent({ runId, kind: "run-resume" });
  }
  // The memories the bank starts from: what the database holds, or a new run's prior as sampled (and stored).
  const memories: readonly StoredMemory[] = resumed
    ? repository.loadMemories(runId)
    : samplePriorMemories({
        prior,
        labels: world.agents.map((agent) => agent.label),
        perAgent: config.memory.priorSize,
        seed: config.world.seed,
      }).flatMap((pairs, agentId) => pairs.map(({ question, answer }) => ({ agentId, question, answer, round: -1 })));
  const memoryVectors = await embedUnitVectors({
    embedder,
    texts: memories.map((memory) => memory.question),
    repository,
    ...(signal === undefined ? {} : { signal }),
  });
  // Created after the embedding, so a run that exists always has its prior's embeddings.
  if (!resumed) {
    repository.createRun({
      runId,
      config,
      agents: world.agents.map((agent) => ({
        agentId: agent.id,
        row: agent.row,
        col: agent.col,
        label: agent.label,
        modelId: modelSpecOf(agent.modelIndex),
      })),
      memories,
    });
  }
  writeConfigFile(runDirectory, config);
  repository.setRunStatus(runId, "running");

  // The same entries in the same order either way (the database lists them by agent and position, the
  // order they were sampled and stored in; a repeated question keeps its first answer in both).
  const bank = createMemoryBank({ distanceThreshold: config.memory.distanceThreshold });
  for (const memory of memories) {
    const { agentId, question, answer, round } = memory;
    bank.add({ agentId, question, answer, round, embedding: memoryVectors.get(question) as UnitVector });
  }
  const recordsPath = join(runDirectory, "records.jsonl");
  const completedRounds = syncRecordsFile({ path: recordsPath, repository, runId });
  const summaries = completedRounds.map((round) => round.summary as RoundSummary);

  const plateauReached = (): boolean =>
    config.untilPlateau !== null &&
    reachedPlateau(
      summaries.map((summary) => summary.societyScore),
      config.untilPlateau,
    );
  let round = completedRounds.length;
  emit({ type: "run-start", runId, resumed, firstRound: round, maxRounds: config.rounds, agents: world.agents.length });
  const settings: BackScatterSettings = {
    ...config.backScatter,
    callOrder: options.schedule?.callOrder ?? "concurrent",
  };
  // Starts, steps and completions of a turn are committed together (turn-writer.ts).
  // A fresh round's records.jsonl lines are appended as its agent-order prefix completes.
  let appender: RoundRecordsAppender | undefined;
  const writer = createTurnWriter({ repository, afterWrites: () => appender?.appendReady() });
  const limit = options.schedule?.maxConcurrentInteractions ?? DEFAULT_MAX_CONCURRENT_INTERACTIONS;

  // Per round in progress (at most two): what its interactions read. An interaction that completes
  // before its round is the oldest (lookahead) is noted, so the round's records appender counts it.
  interface RoundInputs {
    questions: readonly string[];
    embeddings: Map<string, UnitVector>;
    snapshot: ReturnType<typeof bank.snapshot>;
    existing: Map<number, StoredInteraction>;
    targetsOf: (agentId: number) => number[];
    completedEarly: number[];
  }
  const inputs = new Map<number, RoundInputs>();
  let oldestRound = round;
  const runAgent = async (currentRound: number, agentId: number): Promise<void> => {
    const {
      questions: roundQuestions,
      embeddings,
      snapshot,
      existing,
      targetsOf,
      completedEarly,
    } = inputs.get(currentRound) as RoundInputs;
    const agent = world.agents[agentId] as World["agents"][number];
    const question = roundQuestions[agentId] as string;
    const stored = existing.get(agentId);
    const targets = targetsOf(agentId);
    const startedAt = stored?.startedAt ?? Date.now();
    if (stored === undefined) {
      writer.beginInteraction({ runId, round: currentRound, agentId, question, targetIds: targets, startedAt });
    }
    const retrievals: StoredRetrieval[] = [];
    const record = await runInteraction(
      {
        runId,
        world,
        round: currentRound,
        agent,
        question,
        questionEmbedding: embeddings.get(question) as UnitVector,
        targets,
        snapshot,
        startedAt,
        completedSteps: stored?.steps ?? new Map(),
      },
      {
        agentModels: options.agentModels,
        observer,
        prompts,
        settings,
        priceOf: options.priceOf ?? defaultPrice,
        ...(signal === undefined ? {} : { signal }),
        onRetrieve: ({ retrieverId, memory }) => {
          if (memory === undefined) return;
          retrievals.push({
            retrieverId,
            rank: 1,
            question: memory.question,
            answer: memory.answer,
            similarity: 1 - memory.distance,
            sourceRound: memory.round,
          });
        },
        saveStep: (step, peerId, payload) => {
          writer.saveStep({
            runId,
            round: currentRound,
            agentId,
            step,
            ...(peerId === undefined ? {} : { peerId }),
            payload,
          });
          emit({ type: "step-complete", round: currentRound, agentId, step, peerId });
        },
      },
    );
    const memory = bank.has(agentId, question)
      ? undefined
      : {
          agentId,
          question,
          answer: record.revised_answer,
          embedding: embeddings.get(question) as UnitVector,
          round: currentRound,
        };
    writer.completeInteraction({
      runId,
      round: currentRound,
      agentId,
      record,
      completedAt: Date.now(),
      memory,
      retrievals,
    });
    if (currentRound === oldestRound) appender?.completed(agentId);
    else completedEarly.push(agentId);
    if (memory !== undefined) bank.add(memory);
    emit({ type: "interaction-complete", round: currentRound, agentId, record });
  };

  try {
    round = await runRounds({
      firstRound: round,
      // A resumed run whose stored rounds already reach the plateau runs none.
      rounds: plateauReached() ? round : config.rounds,
      agentCount: world.agents.length,
      limit,
      lookahead: config.untilPlateau === null && (options.schedule?.overlapRounds ?? true),
      prepare: async (preparedRound) => {
        signal?.throwIfAborted();
        const roundQuestions = questionsForRound({
          pool: questions,
          round: preparedRound,
          agentCount: world.agents.length,
        });
        // Unit vectors (sparse when mostly zeros), not the embedder's dense arrays: at 10,000 agents the
        // round's 4,096-wide lexical vectors alone would hold 160 MB all round.
        const embeddings = await embedUnitVectors({
          embedder,
          texts: roundQuestions,
          repository,
          ...(signal === undefined ? {} : { signal }),
        });
        const existing = new Map<number, StoredInteraction>(
          repository
            .loadRoundInteractions(runId, preparedRound)
            .map((interaction) => [interaction.agentId, interaction]),
        );
        // Drawn once per agent: the scheduler reads them before the interaction does.
        const targets: (number[] | undefined)[] = [];
        const targetsOf = (agentId: number): number[] =>
          (targets[agentId] ??=
            existing.get(agentId)?.targetIds ??
            roundTargets({
              worldSeed: world.seed,
              size: world.size,
              settings: config.selection,
              round: preparedRound,
              agentId,
            }));
        inputs.set(preparedRound, {
          questions: roundQuestions,
          embeddings,
          snapshot: bank.snapshot(preparedRound),
          existing,
          targetsOf,
          completedEarly: [],
        });
        return {
          complete: (agentId) => existing.get(agentId)?.status === "complete",
          reads: (agentId) => [agentId, ...targetsOf(agentId)],
        };
      },
      open: (openedRound) => {
        oldestRound = openedRound;
        const { existing, completedEarly } = inputs.get(openedRound) as RoundInputs;
        appender =
          existing.size === 0
            ? createRoundRecordsAppender({
                path: recordsPath,
                repository,
                runId,
                round: openedRound,
                baseBytes: repository.loadRounds(runId).at(-1)?.recordsBytes ?? 0,
              })
            : undefined;
        for (const agentId of completedEarly) appender?.completed(agentId);
        const alreadyComplete = [...existing.values()].filter((stored) => stored.status === "complete").length;
        emit({ type: "round-start", round: openedRound, interactions: world.agents.length, alreadyComplete });
      },
      run: (runRound, agentId) => runAgent(runRound, agentId),
      finish: (finishedRound) => {
        writer.flush();
        // The barrier: the round's records, in agent order, then the summary that marks it complete.
        const summary = writeRoundRecords({
          path: recordsPath,
          repository,
          runId,
          round: finishedRound,
          summarise: (records) => summariseRound(finishedRound, records),
          ...(appender === undefined ? {} : { prefix: appender.prefix() }),
        });
        appender = undefined;
        inputs.delete(finishedRound);
        summaries.push(summary);
        emit({ type: "round-end", round: finishedRound, summary });
        return !plateauReached();
      },
    });
  } catch (error) {
    writer.flush();
    const stopped = error instanceof BudgetExceededError || error instanceof CancelledError || signal?.aborted === true;
    repository.setRunStatus(runId, stopped ? "stopped" : "failed");
    if (signal?.aborted && !(error instanceof CancelledError) && !(error instanceof BudgetExceededError)) {
      throw new CancelledError("simulation cancelled; rerun with the same --run-dir to resume");
    }
    throw error;
  }
  const stoppedAtPlateau = plateauReached() && round < config.rounds;
  repository.setRunStatus(runId, "finished");
  emit({ type: "run-end", runId, roundsCompleted: round, reason: stoppedAtPlateau ? "plateau" : "rounds" });
  return { runId, roundsCompleted: round, stoppedAtPlateau, summaries, recordsPath };
}
