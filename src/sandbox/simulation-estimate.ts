/**
 * What a simulation will cost before it runs (issue 18 item 5): chat and embedding calls, prompt and
 * completion tokens, US dollars and wall time, without calling a model or writing anything. The
 * world, the questions each agent gets and the feedback givers are the run's own (they are seeded);
 * prompts are the run's templates rendered with representative answers; answer lengths, unreadable
 * rating replies (re-asks), retries and latency come from a {@link SimulationProfile} (earlier runs,
 * else stated defaults). Re-asks and retries count as calls; only answered calls bill tokens. With a
 * plateau rule the estimate is a range, from the fewest rounds the rule allows to the cap; for a run
 * being resumed, only the work left.
 */
import type Database from "better-sqlite3";
import { questionsForRound } from "../data/question-pool.js";
import type { TokenPrice } from "../llm/middleware/price-table.js";
import { parseModelSpec } from "../llm/model-spec.js";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { createSimulationRepository, type StoredInteraction } from "../store/simulation-repository.js";
import { reachedPlateau } from "./plateau.js";
import { type Prior, samplePriorMemories } from "./prior-loader.js";
import type { RoundSummary } from "./round-summary.js";
import { type SimulationConfig, simulationRunId } from "./simulation-config.js";
import { DEFAULT_SIMULATION_PROFILE, type SimulationProfile } from "./simulation-profile.js";
import {
  attemptPromptTokens,
  createStepPrompts,
  type EstimatedStep,
  isChatSpec,
  representativeMemory,
  textTokens,
} from "./step-prompt-tokens.js";
import { roundTargets } from "./target-selection.js";
import { createWorld } from "./world.js";

/** Chat calls of one model (or all models together). */
export interface ChatEstimate {
  /** Answered calls, rating re-asks included (the usage ledger's rows). */
  calls: number;
  /** Of `calls`, rating re-asks after an unreadable reply. */
  reAsks: number;
  /** Requests retried (rate limit, server error, garbled body); they bill no tokens. */
  retries: number;
  /** Requests sent: `calls + retries`. */
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** US dollars. */
  costUsd: number;
}

/** Embedding requests (none for an in-process embedder). */
export interface EmbeddingEstimate {
  /** Texts embedded (distinct, not already stored). */
  texts: number;
  /** Requests (batches of 256 texts); 0 in process. */
  calls: number;
  tokens: number;
  /** US dollars. */
  costUsd: number;
  inProcess: boolean;
}

/** The totals for one number of rounds. */
export interface EstimateTotals {
  /** Rounds run by this invocation (a resumed round counts whole, though only its rest is priced). */
  rounds: number;
  chat: ChatEstimate;
  /** Chat calls per model spec. */
  perModel: Record<string, ChatEstimate>;
  embedding: EmbeddingEstimate;
  /** US dollars, chat and embeddings. */
  costUsd: number;
  /** Seconds of wall time at the configured concurrency and the profile's latency. */
  wallSeconds: number;
}

/** The estimate: `low` and `high` are the same without a plateau rule. */
export interface SimulationEstimate {
  /** Rounds already complete in the run being resumed (0 for a new run). */
  completedRounds: number;
  /** The fewest rounds the plateau rule allows (or the fixed rounds), counted from `completedRounds`. */
  low: EstimateTotals;
  /** The round cap. */
  high: EstimateTotals;
  /** Calls in flight per model spec the wall time assumes. */
  concurrency: Record<string, number>;
  /** The numbers assumed (measured or defaults). */
  profile: SimulationProfile;
}

/** Options of {@link estimateSimulation}. */
export interface SimulationEstimateOptions {
  /** The resolved configuration of the run to estimate. */
  config: SimulationConfig;
  /** The question pool in hand-out order. */
  questions: readonly string[];
  prior: Prior;
  prompts: PromptTemplates;
  /** US dollars per million tokens of a model or embedder spec. */
  priceOf: (spec: string) => TokenPrice;
  /** Measured numbers; default {@link DEFAULT_SIMULATION_PROFILE}. */
  profile?: SimulationProfile;
  /** Calls in flight per HTTP model endpoint. Default 64 (in process: GGUF 4, `local:` 1). */
  concurrency?: number;
  /** The `run.sqlite` of the run being resumed: only what is left is estimated. Default: a new run. */
  resumeFrom?: Database.Database;
}

const EMBEDDING_BATCH = 256;

const emptyChat = (): ChatEstimate => ({
  calls: 0,
  reAsks: 0,
  retries: 0,
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  costUsd: 0,
});

/** Calls in flight per spec, as the model factory sets them up. */
function concurrencyOf(spec: string, http: number): number {
  let provider: string;
  try {
    provider = parseModelSpec(spec).provider;
  } catch {
    return http; // a model id that is not a spec (a library caller's own model): assume an endpoint
  }
  if (provider === "openai") return http;
  if (provider === "gguf" || provider === "hf") return 4;
  if (provider === "scripted") return 64;
  return 1;
}

/** One round's chat usage per spec, and which of an interaction's four waves it has (for the wall time). */
interface RoundUsage {
  perModel: Map<string, ChatEstimate>;
  /** Requests of each wave, all models together: draft, first ratings, revision, last ratings. */
  waves: number[];
  embedding: EmbeddingEstimate;
}

/** Estimates the cost of running (or finishing) a simulation; see the module comment. */
export function estimateSimulation({
  config,
  questions,
  prior,
  prompts,
  priceOf,
  profile = DEFAULT_SIMULATION_PROFILE,
  concurrency = 64,
  resumeFrom,
}: SimulationEstimateOptions): SimulationEstimate {
  const world = createWorld({ ...config.world, modelWeights: config.models.agents.map((agent) => agent.weight) });
  const agentCount = world.agents.length;
  const specOf = (agentId: number): string => config.models.agents[world.agents[agentId]?.modelIndex ?? 0]?.spec ?? "";
  const observerSpec = config.models.observer;
  const render = createStepPrompts({ prompts, agentSystemPrompt: config.backScatter.agentSystemPrompt });
  const memory = representativeMemory([...prior.answers.good, ...prior.answers.bad]);
  const maxAttempts = Math.max(1, config.backScatter.maxRatingAttempts);
  const draftText = "d".repeat(Math.round(profile.characters.draft));
  const revisionText = "r".repeat(Math.round(profile.characters.revision));
  const reason = "w".repeat(Math.round(profile.characters.reason));

  // What the run being resumed has done already.
  const runId = simulationRunId(config);
  const repository = resumeFrom === undefined ? undefined : createSimulationRepository(resumeFrom);
  const started = repository?.findRun(runId) !== undefined;
  const storedRounds = started ? (repository?.loadRounds(runId) ?? []) : [];
  const completedRounds = storedRounds.length;
  const scores = storedRounds.map((round) => (round.summary as RoundSummary).societyScore);

  // Embeddings: the prior's questions first (a new run), then each round's new questions.
  const embedderSpec = config.models.embedder;
  const embedderInProcess = !embedderSpec.startsWith("openai:");
  const embedded = new Set<string>();
  const priorEmbedding = emptyEmbedding(embedderInProcess);
  if (!started) {
    const perAgent = samplePriorMemories({
      prior,
      labels: world.agents.map((agent) => agent.label),
      perAgent: config.memory.priorSize,
      seed: config.world.seed,
    });
    addEmbeddings(
      priorEmbedding,
      perAgent.flat().map((pair) => pair.question),
    );
  }

  function emptyEmbedding(inProcess: boolean): EmbeddingEstimate {
    return { texts: 0, calls: 0, tokens: 0, costUsd: 0, inProcess };
  }

  function addEmbeddings(target: EmbeddingEstimate, texts: readonly string[]): void {
    let fresh = [...new Set(texts)].filter((text) => !embedded.has(text));
    if (repository !== undefined && fresh.length > 0) {
      const stored = repository.findEmbeddings(embedderSpec, fresh);
      fresh = fresh.filter((text) => !stored.has(text));
    }
    for (const text of fresh) embedded.add(text);
    const tokens = fresh.reduce((sum, text) => sum + textTokens(text.length), 0);
    target.texts += fresh.length;
    target.tokens += tokens;
    target.calls += embedderInProcess ? 0 : Math.ceil(fresh.length / EMBEDDING_BATCH);
    target.costUsd += embedderInProcess ? 0 : (tokens * priceOf(embedderSpec).prompt) / 1_000_000;
  }

  /** Adds the expected usage of one step to the round (all attempts of a rating). */
  function addStep(
    usage: RoundUsage,
    {
      wave,
      spec,
      step,
      system,
      user,
      rating,
    }: {
      wave: number;
      spec: string;
      step: EstimatedStep;
      system: string | undefined;
      user: string;
      /** Who rates (a rating step), for its unreadable-reply rate. */
      rating?: "peer" | "observer";
    },
  ): void {
    const chat = isChatSpec(spec);
    const factor = profile.promptTokenFactor[step];
    let calls = 0;
    let promptTokens = 0;
    let reached = 1;
    const earlier: number[] = [];
    for (let attempt = 1; attempt <= (rating === undefined ? 1 : maxAttempts); attempt += 1) {
      calls += reached;
      promptTokens += reached * factor * attemptPromptTokens({ system, user, chat, earlierReplyCharacters: earlier });
      earlier.push(profile.characters.unreadableReply);
      if (rating !== undefined) reached *= unreadableAt(profile.unreadableRate[rating], attempt);
    }
    const completionTokens = calls * profile.completionTokens[step];
    const retries = calls * profile.retryRate;
    const price = priceOf(spec);
    let model = usage.perModel.get(spec);
    if (model === undefined) {
      model = emptyChat();
      usage.perModel.set(spec, model);
    }
    model.calls += calls;
    model.reAsks += calls - 1;
    model.retries += retries;
    model.requests += calls + retries;
    model.promptTokens += promptTokens;
    model.completionTokens += completionTokens;
    model.costUsd += (promptTokens * price.prompt + completionTokens * price.completion) / 1_000_000;
    usage.waves[wave] = (usage.waves[wave] as number) + calls + retries;
  }

  function estimateRound(round: number): RoundUsage {
    const usage: RoundUsage = {
      perModel: new Map(),
      waves: [0, 0, 0, 0],
      embedding: emptyEmbedding(embedderInProcess),
    };
    const roundQuestions = questionsForRound({ pool: questions, round, agentCount });
    addEmbeddings(usage.embedding, roundQuestions);
    const stored = new Map<number, StoredInteraction>(
      (started ? (repository?.loadRoundInteractions(runId, round) ?? []) : []).map((item) => [item.agentId, item]),
    );
    let invalidShare = 1;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      invalidShare *= unreadableAt(profile.unreadableRate.peer, attempt);
    }
    const validShare = 1 - invalidShare;
    for (const agent of world.agents) {
      const existing = stored.get(agent.id);
      if (existing?.status === "complete") continue;
      const done = (key: string) => existing?.steps.has(key) === true;
      const question = roundQuestions[agent.id] as string;
      const targets =
        existing?.targetIds ??
        roundTargets({ worldSeed: world.seed, size: world.size, settings: config.selection, round, agentId: agent.id });
      const spec = specOf(agent.id);
      const system = isChatSpec(spec) ? render.system(agent.id) : undefined;
      if (!done("draft")) {
        const user = render.draft({ agentId: agent.id, question, memory });
        addStep(usage, { wave: 0, spec, step: "draft", system, user });
      }
      for (const peerId of targets) {
        if (done(`peer-rating:${peerId}`)) continue;
        const peerSpec = specOf(peerId);
        const user = render.peerRating({ peerId, centreId: agent.id, question, draft: draftText, memory });
        const peerSystem = isChatSpec(peerSpec) ? render.system(peerId) : undefined;
        addStep(usage, { wave: 1, spec: peerSpec, step: "peer-rating", system: peerSystem, user, rating: "peer" });
      }
      const observe = (wave: number, suffix: "before" | "after", answer: string) => {
        for (const step of ["observer-alignment", "observer-engagement"] as const) {
          if (done(`${step}-${suffix}`)) continue;
          const user = render.observer({ step, question, answer });
          addStep(usage, { wave, spec: observerSpec, step, system: undefined, user, rating: "observer" });
        }
      };
      observe(1, "before", draftText);
      if (!done("revision")) {
        const valid = Math.round(targets.length * validShare);
        const feedback = targets.slice(0, valid).map((peerId) => ({ agentId: peerId, rating: 4, reason }));
        const user = render.revision({
          agentId: agent.id,
          question,
          draft: draftText,
          feedback,
          scoreOnly: config.backScatter.scoreOnly,
        });
        addStep(usage, { wave: 2, spec, step: "revision", system, user });
      }
      observe(3, "after", revisionText);
    }
    return usage;
  }

  // Rounds: from the first not complete to the cap; the plateau rule may stop at `lowRounds`.
  const cap = Math.max(config.rounds, completedRounds);
  let lowRounds = cap;
  if (config.untilPlateau !== null) {
    lowRounds = completedRounds;
    // The earliest stop: every further round fails to improve.
    const settings = config.untilPlateau;
    const stale = (rounds: number) => Array<number | null>(rounds - completedRounds).fill(null);
    while (lowRounds < cap && !reachedPlateau([...scores, ...stale(lowRounds)], settings)) lowRounds += 1;
  }
  const finished = config.untilPlateau !== null && reachedPlateau(scores, config.untilPlateau);
  const highRounds = finished ? completedRounds : cap;

  const concurrencyBySpec: Record<string, number> = {};
  for (const spec of [...config.models.agents.map((agent) => agent.spec), observerSpec]) {
    concurrencyBySpec[spec] = concurrencyOf(spec, concurrency);
  }
  const latencySeconds = profile.latencyMs / 1000;

  const low = emptyTotals(lowRounds - completedRounds, priorEmbedding);
  const high = emptyTotals(highRounds - completedRounds, priorEmbedding);
  for (let round = completedRounds; round < highRounds; round += 1) {
    const usage = estimateRound(round);
    for (const totals of round < lowRounds ? [low, high] : [high]) addRound(totals, usage);
  }
  return { completedRounds, low, high, concurrency: concurrencyBySpec, profile };

  function addRound(totals: EstimateTotals, usage: RoundUsage): void {
    for (const [spec, model] of usage.perModel) {
      const target = totals.perModel[spec] ?? emptyChat();
      totals.perModel[spec] = target;
      for (const sum of [target, totals.chat]) {
        sum.calls += model.calls;
        sum.reAsks += model.reAsks;
        sum.retries += model.retries;
        sum.requests += model.requests;
        sum.promptTokens += model.promptTokens;
        sum.completionTokens += model.completionTokens;
        sum.costUsd += model.costUsd;
      }
      totals.costUsd += model.costUsd;
    }
    const embedding = usage.embedding;
    totals.embedding.texts += embedding.texts;
    totals.embedding.calls += embedding.calls;
    totals.embedding.tokens += embedding.tokens;
    totals.embedding.costUsd += embedding.costUsd;
    totals.costUsd += embedding.costUsd;
    // Interactions do not wait for each other's waves, so each model's slots stay full while the round
    // has calls for it: the round lasts as long as its busiest model needs for all of its requests, or
    // as long as one interaction's chain of waves, whichever is longer. (Overlapping rounds can save a
    // part of the last wave of each round; this counts whole waves.)
    const chain = usage.waves.filter((requests) => requests > 0).length;
    let busiest = 0;
    for (const [spec, model] of usage.perModel) {
      busiest = Math.max(busiest, Math.ceil(model.requests / (concurrencyBySpec[spec] ?? 1)));
    }
    totals.wallSeconds += Math.max(busiest, chain) * latencySeconds;
  }
}

/** The chance that attempt `attempt` (from 1) is unreadable, given the per-attempt rates (last one repeats). */
function unreadableAt(rates: readonly number[], attempt: number): number {
  return rates[Math.min(attempt, rates.length) - 1] ?? 0;
}

function emptyTotals(rounds: number, priorEmbedding: EmbeddingEstimate): EstimateTotals {
  return {
    rounds,
    chat: emptyChat(),
    perModel: {},
    embedding: { ...priorEmbedding },
    costUsd: priorEmbedding.costUsd,
    wallSeconds: 0,
  };
}
