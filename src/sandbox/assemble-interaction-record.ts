/**
 * Record assembly of a Back-Scatter interaction (SPEC 1.6 step 5 and the record of SPEC 1.7): peer
 * feedback sorted highest first, the mean of the valid ratings, and the interaction record built from
 * the persisted steps.
 */
import type { InteractionRecord } from "../spec/interaction-record.js";
import { interactionUsage, type RatingStep, type TextStep } from "./step-accounting.js";
import type { World, WorldAgent } from "./world.js";

/** A peer's rating next to who gave it, before and after sorting. */
export interface PeerFeedback {
  agentId: number;
  step: RatingStep;
}

/**
 * Sorts feedback highest rating first (so the harshest critiques sit last, nearest the revision
 * instruction); ties keep selection order; invalid ratings go last.
 */
export function sortFeedback(feedback: readonly PeerFeedback[]): PeerFeedback[] {
  return feedback
    .map((entry, index) => ({ entry, index }))
    .sort((left, right) => {
      const leftRating = left.entry.step.rating ?? Number.NEGATIVE_INFINITY;
      const rightRating = right.entry.step.rating ?? Number.NEGATIVE_INFINITY;
      return rightRating - leftRating || left.index - right.index;
    })
    .map(({ entry }) => entry);
}

/** The mean of the valid ratings; null when none is valid. */
export function meanValidRating(ratings: readonly (number | null)[]): number | null {
  const valid = ratings.filter((rating): rating is number => rating !== null);
  return valid.length === 0 ? null : valid.reduce((sum, rating) => sum + rating, 0) / valid.length;
}

/** A mean as the revision prompt shows it: at most two decimals, no trailing zeros. */
export function formatMean(mean: number): string {
  return String(Number(mean.toFixed(2)));
}

/** The persisted steps of one finished interaction and what it was about. */
export interface InteractionSteps {
  runId: string;
  world: World;
  round: number;
  agent: WorldAgent;
  question: string;
  draft: TextStep;
  revision: TextStep;
  alignmentBefore: RatingStep | undefined;
  engagementBefore: RatingStep | undefined;
  alignmentAfter: RatingStep | undefined;
  engagementAfter: RatingStep | undefined;
  /** Peer feedback as sorted by {@link sortFeedback}. */
  sorted: readonly PeerFeedback[];
  agentModelId: string;
  observerModelId: string;
  /** Epoch milliseconds when the interaction first started. */
  startedAt: number;
}

/** The interaction record of SPEC 1.7; `duration_ms` runs to now. */
export function assembleInteractionRecord(steps: InteractionSteps): InteractionRecord {
  const { runId, world, round, agent, question, draft, revision, sorted } = steps;
  const { alignmentBefore, engagementBefore, alignmentAfter, engagementAfter } = steps;
  const ratings = sorted.map((entry) => entry.step.rating);
  const usage = interactionUsage([
    draft,
    revision,
    alignmentBefore,
    engagementBefore,
    alignmentAfter,
    engagementAfter,
    ...sorted.map((entry) => entry.step),
  ]);
  const judged = (step: RatingStep | undefined) => ({
    score: step?.rating ?? null,
    reason: step?.reason ?? null,
    valid: step?.valid ?? false,
  });
  const before = { moral: judged(alignmentBefore), engagement: judged(engagementBefore) };
  const after = { moral: judged(alignmentAfter), engagement: judged(engagementAfter) };
  return {
    run_id: runId,
    world: { size: world.size, setting: world.setting, seed: world.seed },
    agent_id: agent.id,
    label: agent.label,
    iteration: round,
    question,
    draft_answer: draft.text,
    target_id: sorted.map((entry) => entry.agentId),
    feedback: sorted.map((entry) => entry.step.reason),
    rating: ratings,
    mean_rating: meanValidRating(ratings),
    revised_answer: revision.text,
    gen_moral_score_before: before.moral.score,
    gen_moral_reason_before: before.moral.reason,
    gen_engagement_score_before: before.engagement.score,
    gen_engagement_reason_before: before.engagement.reason,
    gen_moral_score_after: after.moral.score,
    gen_moral_reason_after: after.moral.reason,
    gen_engagement_score_after: after.engagement.score,
    gen_engagement_reason_after: after.engagement.reason,
    validity: {
      peer: sorted.map((entry) => entry.step.valid),
      moral_before: before.moral.valid,
      engagement_before: before.engagement.valid,
      moral_after: after.moral.valid,
      engagement_after: after.engagement.valid,
    },
    models: {
      agent: steps.agentModelId,
      observer: steps.observerModelId,
      peers: sorted.map((entry) => entry.step.model),
    },
    usage,
    timings: { started_at: steps.startedAt, duration_ms: Math.max(0, Date.now() - steps.startedAt) },
  };
}
