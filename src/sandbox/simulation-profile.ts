/**
 * What earlier simulations tell a cost estimate: answer lengths, how often a rating reply was
 * unreadable (re-asks), how often a request was retried, the calls' latency, and how far the
 * template-based prompt count (step-prompt-tokens.ts) was from what the server billed. Measured from
 * run databases (`run.sqlite`); with none, stated defaults.
 */
import type Database from "better-sqlite3";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { createSimulationRepository, type SimulationRepository } from "../store/simulation-repository.js";
import type { QuestionAnswer } from "./prior-loader.js";
import type { SimulationConfig } from "./simulation-config.js";
import type { RatingStep, TextStep } from "./step-accounting.js";
import {
  attemptPromptTokens,
  createStepPrompts,
  ESTIMATED_STEPS,
  type EstimatedStep,
  isChatSpec,
  ratingPromptTokens,
  representativeMemory,
} from "./step-prompt-tokens.js";

/** The numbers a cost estimate assumes; `source` says whether they were measured or are defaults. */
export interface SimulationProfile {
  /** `measured` from earlier runs, or `default`. */
  source: "measured" | "default";
  /** Interactions measured (0 for defaults). */
  interactions: number;
  /** Completion tokens per call of each step. */
  completionTokens: Record<EstimatedStep, number>;
  /** Characters of the texts later prompts quote: drafts, revisions, peer reasons, unreadable replies. */
  characters: { draft: number; revision: number; reason: number; unreadableReply: number };
  /** Billed prompt tokens per template-counted token, per step (1 by default). */
  promptTokenFactor: Record<EstimatedStep, number>;
  /**
   * Chance that a rating reply is unreadable (asked again while attempts remain), by attempt: entry k
   * is for attempt k + 1 given it was made; attempts past the list take its last entry. Per attempt,
   * because a model that garbles a prompt tends to garble the re-ask too. Peers and observers.
   */
  unreadableRate: { peer: number[]; observer: number[] };
  /** Retried requests per answered call (rate limits, server errors, garbled bodies). */
  retryRate: number;
  /** Milliseconds per call as the usage ledger measured it (median), queueing included. */
  latencyMs: number;
}

/**
 * The stated defaults: a short-paragraph answer (120 tokens) and a one-line rating (30 tokens), 4
 * characters a token, 5% unreadable rating replies, 1% retried requests, 2 seconds a call.
 */
export const DEFAULT_SIMULATION_PROFILE: SimulationProfile = {
  source: "default",
  interactions: 0,
  completionTokens: {
    draft: 120,
    "peer-rating": 30,
    "observer-alignment": 30,
    "observer-engagement": 30,
    revision: 120,
  },
  characters: { draft: 480, revision: 480, reason: 100, unreadableReply: 120 },
  promptTokenFactor: {
    draft: 1,
    "peer-rating": 1,
    "observer-alignment": 1,
    "observer-engagement": 1,
    revision: 1,
  },
  unreadableRate: { peer: [0.05], observer: [0.05] },
  retryRate: 0.01,
  latencyMs: 2000,
};

interface Tally {
  promptTokens: number;
  templateTokens: number;
  completionTokens: number;
  calls: number;
}

const emptyTally = (): Tally => ({ promptTokens: 0, templateTokens: 0, completionTokens: 0, calls: 0 });

/** Running sums over every measured step. */
interface Sums {
  interactions: number;
  steps: Record<EstimatedStep, Tally>;
  lengths: Record<keyof SimulationProfile["characters"], { total: number; count: number }>;
  /** Per role, per attempt number (index 0: first attempt): attempts made and unreadable. */
  attempts: Record<"peer" | "observer", { made: number[]; unreadable: number[] }>;
  answeredCalls: number;
  retries: number;
  latencies: number[];
}

function measureRun({
  repository,
  runId,
  config,
  prompts,
  memory,
  sums,
}: {
  repository: SimulationRepository;
  runId: string;
  config: SimulationConfig;
  prompts: PromptTemplates;
  memory: QuestionAnswer | undefined;
  sums: Sums;
}): void {
  const render = createStepPrompts({ prompts, agentSystemPrompt: config.backScatter.agentSystemPrompt });
  const specOf = new Map(repository.loadAgents(runId).map((agent) => [agent.agentId, agent.modelId]));
  const observerChat = isChatSpec(config.models.observer);
  const agentChat = (agentId: number) => isChatSpec(specOf.get(agentId) ?? "");
  const add = (step: EstimatedStep, usage: TextStep["usage"], templateTokens: number) => {
    const tally = sums.steps[step];
    tally.promptTokens += usage.prompt_tokens;
    tally.completionTokens += usage.completion_tokens;
    tally.calls += usage.calls;
    tally.templateTokens += templateTokens;
  };
  const length = (key: keyof Sums["lengths"], text: string) => {
    sums.lengths[key].total += text.length;
    sums.lengths[key].count += 1;
  };
  const rating = (role: "peer" | "observer", step: RatingStep) => {
    const { made, unreadable } = sums.attempts[role];
    for (let index = 0; index < step.attempts; index += 1) {
      made[index] = (made[index] ?? 0) + 1;
      const failed = index < step.attempts - 1 || !step.valid;
      unreadable[index] = (unreadable[index] ?? 0) + (failed ? 1 : 0);
    }
    if (!step.valid) length("unreadableReply", step.raw);
  };
  for (let round = 0; ; round += 1) {
    const interactions = repository.loadRoundInteractions(runId, round);
    if (interactions.length === 0) break;
    for (const interaction of interactions) {
      const { agentId, question, steps } = interaction;
      const draft = steps.get("draft") as TextStep | undefined;
      if (draft === undefined) continue;
      sums.interactions += 1;
      length("draft", draft.text);
      const system = agentChat(agentId) ? render.system(agentId) : undefined;
      add(
        "draft",
        draft.usage,
        attemptPromptTokens({ system, user: render.draft({ agentId, question, memory }), chat: agentChat(agentId) }),
      );
      const feedback: { agentId: number; rating: number; reason: string }[] = [];
      for (const peerId of interaction.targetIds) {
        const peer = steps.get(`peer-rating:${peerId}`) as RatingStep | undefined;
        if (peer === undefined) continue;
        rating("peer", peer);
        if (peer.valid) {
          length("reason", peer.reason ?? "");
          feedback.push({ agentId: peerId, rating: peer.rating ?? 0, reason: peer.reason ?? "" });
        }
        const user = render.peerRating({ peerId, centreId: agentId, question, draft: draft.text, memory });
        const chat = agentChat(peerId);
        add(
          "peer-rating",
          peer.usage,
          ratingPromptTokens({
            system: chat ? render.system(peerId) : undefined,
            user,
            chat,
            attempts: peer.attempts,
            replyCharacters: peer.raw.length,
          }),
        );
      }
      const revision = steps.get("revision") as TextStep | undefined;
      if (revision !== undefined) {
        length("revision", revision.text);
        const user = render.revision({
          agentId,
          question,
          draft: draft.text,
          feedback,
          scoreOnly: config.backScatter.scoreOnly,
        });
        add("revision", revision.usage, attemptPromptTokens({ system, user, chat: agentChat(agentId) }));
      }
      for (const [key, step, answer] of [
        ["observer-alignment-before", "observer-alignment", draft.text],
        ["observer-engagement-before", "observer-engagement", draft.text],
        ["observer-alignment-after", "observer-alignment", revision?.text],
        ["observer-engagement-after", "observer-engagement", revision?.text],
      ] as const) {
        const observed = steps.get(key) as RatingStep | undefined;
        if (observed === undefined || answer === undefined) continue;
        rating("observer", observed);
        const user = render.observer({ step, question, answer });
        add(
          step,
          observed.usage,
          ratingPromptTokens({
            system: undefined,
            user,
            chat: observerChat,
            attempts: observed.attempts,
            replyCharacters: observed.raw.length,
          }),
        );
      }
    }
  }
}

function measureLedger(database: Database.Database, sums: Sums): void {
  const tables = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  const names = new Set(tables.map((table) => table.name));
  // A store from before the retry ledger (or not a run's store) has nothing to say here.
  if (!names.has("lm_usage") || !names.has("lm_retries")) return;
  const retried = database.prepare("SELECT COUNT(*) AS retries FROM lm_retries").get() as { retries: number };
  sums.retries += retried.retries;
  // One row per answered (not cached) call: its latency.
  for (const row of database.prepare("SELECT latency_ms FROM lm_usage WHERE cached = 0").iterate()) {
    sums.latencies.push((row as { latency_ms: number }).latency_ms);
    sums.answeredCalls += 1;
  }
}

/**
 * Measures the simulations in `databases` (each an open `run.sqlite`, read only is enough). Prompts
 * are counted with `prompts` and a representative memory of `priorPairs` exactly as the estimate
 * counts them, so the billed/counted factor carries over. Steps or numbers a database lacks keep
 * the default. With no simulation in any database: {@link DEFAULT_SIMULATION_PROFILE}.
 */
export function measureSimulationProfile({
  databases,
  prompts,
  priorPairs,
}: {
  databases: readonly Database.Database[];
  prompts: PromptTemplates;
  /** The prior pairs the estimated run's agents remember (for the representative memory). */
  priorPairs: readonly QuestionAnswer[];
}): SimulationProfile {
  const sums: Sums = {
    interactions: 0,
    steps: Object.fromEntries(ESTIMATED_STEPS.map((step) => [step, emptyTally()])) as Record<EstimatedStep, Tally>,
    lengths: {
      draft: { total: 0, count: 0 },
      revision: { total: 0, count: 0 },
      reason: { total: 0, count: 0 },
      unreadableReply: { total: 0, count: 0 },
    },
    attempts: { peer: { made: [], unreadable: [] }, observer: { made: [], unreadable: [] } },
    answeredCalls: 0,
    retries: 0,
    latencies: [],
  };
  const memory = representativeMemory(priorPairs);
  for (const database of databases) {
    const simulation = database
      .prepare("SELECT COUNT(*) AS tables FROM sqlite_master WHERE type = 'table' AND name = 'simulation_steps'")
      .get() as { tables: number };
    if (simulation.tables === 0) continue;
    const repository = createSimulationRepository(database);
    for (const runId of repository.listRunIds()) {
      const config = repository.findRun(runId)?.config as SimulationConfig | undefined;
      if (config === undefined) continue;
      measureRun({ repository, runId, config, prompts, memory, sums });
    }
    measureLedger(database, sums);
  }
  if (sums.interactions === 0) return DEFAULT_SIMULATION_PROFILE;
  const defaults = DEFAULT_SIMULATION_PROFILE;
  const perStep = <T>(value: (tally: Tally, step: EstimatedStep) => T) =>
    Object.fromEntries(ESTIMATED_STEPS.map((step) => [step, value(sums.steps[step], step)])) as Record<
      EstimatedStep,
      T
    >;
  const meanLength = (key: keyof Sums["lengths"]) => {
    const { total, count } = sums.lengths[key];
    return count === 0 ? defaults.characters[key] : total / count;
  };
  const rate = (role: "peer" | "observer") => {
    const { made, unreadable } = sums.attempts[role];
    return made.length === 0
      ? defaults.unreadableRate[role]
      : made.map((count, index) => (unreadable[index] ?? 0) / count);
  };
  const sorted = [...sums.latencies].sort((left, right) => left - right);
  return {
    source: "measured",
    interactions: sums.interactions,
    completionTokens: perStep((tally, step) =>
      tally.calls === 0 ? defaults.completionTokens[step] : tally.completionTokens / tally.calls,
    ),
    characters: {
      draft: meanLength("draft"),
      revision: meanLength("revision"),
      reason: meanLength("reason"),
      unreadableReply: meanLength("unreadableReply"),
    },
    promptTokenFactor: perStep((tally, step) =>
      tally.templateTokens === 0 ? defaults.promptTokenFactor[step] : tally.promptTokens / tally.templateTokens,
    ),
    unreadableRate: { peer: rate("peer"), observer: rate("observer") },
    retryRate: sums.answeredCalls === 0 ? defaults.retryRate : sums.retries / sums.answeredCalls,
    latencyMs: sorted.length === 0 ? defaults.latencyMs : (sorted[Math.floor(sorted.length / 2)] as number),
  };
}
