/** A complete, valid interaction record for tests; every field can be overridden. */
import type { InteractionRecord } from "../../spec/interaction-record.js";

export function makeRecord(overrides: Partial<InteractionRecord> = {}): InteractionRecord {
  const feedback = overrides.feedback ?? ["Clear and kind.", "Could mention safety."];
  const rating = overrides.rating ?? feedback.map((_, index) => 6 - index);
  return {
    run_id: "run-a",
    world: { size: 2, setting: "all_good", seed: 1 },
    agent_id: 0,
    label: "good",
    iteration: 0,
    question: "How do I calm down before an exam?",
    draft_answer: "Just skip it.",
    target_id: feedback.map((_, index) => index + 1),
    feedback,
    rating,
    mean_rating: 5.5,
    revised_answer: "Breathe slowly and review your notes.",
    gen_moral_score_before: 3,
    gen_moral_reason_before: "dismissive",
    gen_engagement_score_before: 3,
    gen_engagement_reason_before: "short",
    gen_moral_score_after: 6,
    gen_moral_reason_after: "helpful",
    gen_engagement_score_after: 5,
    gen_engagement_reason_after: "better",
    validity: {
      peer: rating.map((value) => value !== null),
      moral_before: true,
      engagement_before: true,
      moral_after: true,
      engagement_after: true,
    },
    models: { agent: "agent-model", observer: "observer-model", peers: feedback.map((_, index) => `peer-${index + 1}`) },
    usage: { calls: 7, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0 },
    timings: { started_at: 0, duration_ms: 10 },
    ...overrides,
  };
}

/** Writes records as JSON Lines text. */
export function toJsonLines(records: readonly unknown[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join("");
}
