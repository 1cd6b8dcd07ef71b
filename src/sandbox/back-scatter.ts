/**
 * One Back-Scatter interaction (SPEC 1.6), persisted step by step. Dependencies decide the order:
 * draft first; then the two observer judgments and every peer rating at once (all need only the
 * draft); then the revision; then the two observer judgments of the revision. Each step is saved as
 * soon as it completes, and a step already saved (a resumed run) is read back instead of asked again.
 * This file orchestrates; step payloads and usage are in step-accounting.ts, the record in
 * assemble-interaction-record.ts.
 */

import { deriveSeed } from "../engine/random.js";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { type RatingFormat, requestRating } from "../llm/ratings.js";
import { formatSimulationCallIdentity } from "../spec/call-identity.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { LanguageModel, SamplingOptions } from "../spec/language-model.js";
import { stepKey } from "../store/simulation-repository.js";
import { assembleInteractionRecord, type PeerFeedback, sortFeedback } from "./assemble-interaction-record.js";
import { completionPrompt, withCompletionStop } from "./completion-prompt.js";
import type { MemoryEmbedding, MemorySnapshot, RetrievedMemory } from "./memory.js";
import { type RatingStep, ratingStep, stepUsage, type TextStep } from "./step-accounting.js";
import { createStepPrompts } from "./step-prompt-tokens.js";
import type { World, WorldAgent } from "./world.js";

/** How interactions are run. */
export interface BackScatterSettings {
  /** Revise from the mean rating alone, without the peers' reasons. Default false. */
  scoreOnly: boolean;
  /** Calls per rating at most (first ask plus re-asks). Default 3. */
  maxRatingAttempts: number;
  /** How ratings are constrained; default `auto` (grammar, else JSON schema, else text). */
  ratingFormat: RatingFormat;
  /** Sampling for social agents (reference: temperature 1, 256 tokens). */
  agentSampling: SamplingOptions;
  /** Sampling for observers (reference: temperature 1, 256 tokens). */
  observerSampling: SamplingOptions;
  /** Give chat-model agents the "no warnings, every topic acceptable" system prompt. Default true. */
  agentSystemPrompt: boolean;
  /** `concurrent` (ours) or `sequential` (each call after the previous, as the reference does). */
  callOrder: "concurrent" | "sequential";
}

/** Default settings, matching the reference where it has one. */
export const DEFAULT_BACK_SCATTER_SETTINGS: BackScatterSettings = {
  scoreOnly: false,
  maxRatingAttempts: 3,
  ratingFormat: "auto",
  agentSampling: { temperature: 1, maxTokens: 256 },
  observerSampling: { temperature: 1, maxTokens: 256 },
  agentSystemPrompt: true,
  callOrder: "concurrent",
};

/** Names of the persisted steps. */
export const STEP = {
  draft: "draft",
  alignmentBefore: "observer-alignment-before",
  engagementBefore: "observer-engagement-before",
  peerRating: "peer-rating",
  revision: "revision",
  alignmentAfter: "observer-alignment-after",
  engagementAfter: "observer-engagement-after",
} as const;

/** What one interaction works on. */
export interface InteractionInput {
  runId: string;
  world: World;
  round: number;
  agent: WorldAgent;
  question: string;
  /** The question's embedding (a unit vector from `toUnitVector` costs no conversion per retrieval). */
  questionEmbedding: MemoryEmbedding;
  /** Feedback givers, in selection order. */
  targets: readonly number[];
  /** Memory as of the round's start. */
  snapshot: MemorySnapshot;
  /** Epoch milliseconds when the interaction first started. */
  startedAt: number;
  /** Steps already persisted: key `step` or `peer-rating:<id>`. */
  completedSteps: ReadonlyMap<string, unknown>;
}

/** What interactions use to do their work. */
export interface InteractionServices {
  /** Agent models by `WorldAgent.modelIndex`. */
  agentModels: readonly LanguageModel[];
  observer: LanguageModel;
  prompts: PromptTemplates;
  settings: BackScatterSettings;
  /** Persists a completed step (synchronously: it is durable when this returns). */
  saveStep(step: string, peerId: number | undefined, payload: TextStep | RatingStep): void;
  /** US dollars per million tokens of a model. */
  priceOf(model: LanguageModel): { prompt: number; completion: number };
  /**
   * Told of each memory retrieval: the centre agent's for its draft, each peer's for its rating
   * (`memory` undefined when nothing was near enough). Retrieval is deterministic within a round, so a
   * resumed interaction tells the same retrievals again. Default: nobody is told.
   */
  onRetrieve?(retrieval: { retrieverId: number; memory: RetrievedMemory | undefined }): void;
  signal?: AbortSignal;
}

/** Waits for every task, then rethrows the first failure: no call is left running behind an error. */
async function settleAll<T>(
  tasks: readonly (() => Promise<T>)[],
  order: BackScatterSettings["callOrder"],
): Promise<T[]> {
  if (order === "sequential") {
    const results: T[] = [];
    for (const task of tasks) results.push(await task());
    return results;
  }
  const settled = await Promise.allSettled(tasks.map((task) => task()));
  const failure = settled.find((outcome) => outcome.status === "rejected");
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/** Runs (or finishes) one interaction and returns its record; persists every step on the way. */
export async function runInteraction(
  input: InteractionInput,
  services: InteractionServices,
): Promise<InteractionRecord> {
  const { runId, world, round, agent, question, questionEmbedding, targets, snapshot } = input;
  const { prompts, settings, observer, signal } = services;
  const modelOf = (agentId: number): LanguageModel => {
    const index = world.agents[agentId]?.modelIndex ?? 0;
    const model = services.agentModels[index];
    if (model === undefined) throw new RangeError(`agent ${agentId} has model index ${index}, but no such model`);
    return model;
  };
  const identity = (step: string, peerId?: number): string =>
    formatSimulationCallIdentity({
      runId,
      round,
      agentId: agent.id,
      step,
      ...(peerId === undefined ? {} : { peerId }),
    });
  const seedOf = (step: string, peerId?: number): number =>
    deriveSeed(world.seed, "round", round, "agent", agent.id, step, peerId ?? -1);
  const stored = <T>(step: string, peerId?: number): T | undefined =>
    input.completedSteps.get(stepKey(step, peerId ?? -1)) as T | undefined;

  // The same renderers the cost estimate counts (step-prompt-tokens.ts).
  const render = createStepPrompts({ prompts, agentSystemPrompt: settings.agentSystemPrompt });

  async function textStep(
    step: string,
    model: LanguageModel,
    system: string | undefined,
    user: string,
  ): Promise<TextStep> {
    const existing = stored<TextStep>(step);
    if (existing !== undefined) return existing;
    const sampling = { ...settings.agentSampling, seed: seedOf(step) };
    const common = { callIdentity: identity(step), ...(signal === undefined ? {} : { signal }) };
    // A completion model gets the transcript layout and no system prompt (SPEC 1.3).
    const result = model.capabilities.chat
      ? await model.generate({
          ...common,
          sampling,
          messages: [
            ...(system === undefined ? [] : [{ role: "system" as const, content: system }]),
            { role: "user", content: user },
          ],
        })
      : await model.generate({ ...common, sampling: withCompletionStop(sampling), prompt: completionPrompt(user) });
    const payload: TextStep = {
      text: result.text.trim(),
      model: model.modelId,
      usage: stepUsage(result.usage, 1, services.priceOf(model)),
    };
    services.saveStep(step, undefined, payload);
    return payload;
  }

  async function rate(
    step: string,
    model: LanguageModel,
    system: string | undefined,
    user: string,
    sampling: SamplingOptions,
    peerId?: number,
  ): Promise<RatingStep> {
    const existing = stored<RatingStep>(step, peerId);
    if (existing !== undefined) return existing;
    const asChat = model.capabilities.chat;
    const result = await requestRating({
      model,
      ...(asChat
        ? {
            messages: [
              ...(system === undefined ? [] : [{ role: "system" as const, content: system }]),
              { role: "user" as const, content: user },
            ],
          }
        : { prompt: completionPrompt(user) }),
      maxAttempts: settings.maxRatingAttempts,
      format: settings.ratingFormat,
      sampling: asChat
        ? { ...sampling, seed: seedOf(step, peerId) }
        : withCompletionStop({ ...sampling, seed: seedOf(step, peerId) }),
      callIdentity: identity(step, peerId),
      ...(signal === undefined ? {} : { signal }),
    });
    const payload = ratingStep(result, model, stepUsage(result.usage, result.attempts, services.priceOf(model)));
    services.saveStep(step, peerId, payload);
    return payload;
  }

  const observe = (step: string, promptName: "observer-alignment" | "observer-engagement", answer: string) => () =>
    rate(step, observer, undefined, render.observer({ step: promptName, question, answer }), settings.observerSampling);

  // Step 1: the draft, informed by the centre agent's own nearest memory.
  const agentModel = modelOf(agent.id);
  const ownMemory = snapshot.retrieve(agent.id, questionEmbedding);
  services.onRetrieve?.({ retrieverId: agent.id, memory: ownMemory });
  const draft = await textStep(
    STEP.draft,
    agentModel,
    render.system(agent.id),
    render.draft({ agentId: agent.id, question, ...(ownMemory === undefined ? {} : { memory: ownMemory }) }),
  );

  // Steps 2-4: observer judgments of the draft and every peer rating, all at once.
  const peerTask = (peerId: number) => async (): Promise<PeerFeedback> => {
    const peerMemory = snapshot.retrieve(peerId, questionEmbedding);
    services.onRetrieve?.({ retrieverId: peerId, memory: peerMemory });
    const user = render.peerRating({
      peerId,
      centreId: agent.id,
      question,
      draft: draft.text,
      ...(peerMemory === undefined ? {} : { memory: peerMemory }),
    });
    const step = await rate(
      STEP.peerRating,
      modelOf(peerId),
      render.system(peerId),
      user,
      settings.agentSampling,
      peerId,
    );
    return { agentId: peerId, step };
  };
  const [observedBefore, peerFeedback] = await settleAll<RatingStep[] | PeerFeedback[]>(
    [
      () =>
        settleAll(
          [
            observe(STEP.alignmentBefore, "observer-alignment", draft.text),
            observe(STEP.engagementBefore, "observer-engagement", draft.text),
          ],
          settings.callOrder,
        ),
      () => settleAll(targets.map(peerTask), settings.callOrder),
    ],
    settings.callOrder,
  );
  const [alignmentBefore, engagementBefore] = observedBefore as RatingStep[];

  // Step 5: sort highest first; the revision prompt quotes the valid ratings and their mean.
  const sorted = sortFeedback(peerFeedback as PeerFeedback[]);
  const validFeedback = sorted.filter((entry) => entry.step.valid);

  // Step 6: the revision.
  const revision = await textStep(
    STEP.revision,
    agentModel,
    render.system(agent.id),
    render.revision({
      agentId: agent.id,
      question,
      draft: draft.text,
      feedback: validFeedback.map((entry) => ({
        agentId: entry.agentId,
        rating: entry.step.rating as number,
        reason: entry.step.reason,
      })),
      scoreOnly: settings.scoreOnly,
    }),
  );

  // Step 7: observer judgments of the revision.
  const [alignmentAfter, engagementAfter] = await settleAll(
    [
      observe(STEP.alignmentAfter, "observer-alignment", revision.text),
      observe(STEP.engagementAfter, "observer-engagement", revision.text),
    ],
    settings.callOrder,
  );
  return assembleInteractionRecord({
    runId,
    world,
    round,
    agent,
    question,
    draft,
    revision,
    alignmentBefore,
    engagementBefore,
    alignmentAfter,
    engagementAfter,
    sorted,
    agentModelId: agentModel.modelId,
    observerModelId: observer.modelId,
    startedAt: input.startedAt,
  });
}
