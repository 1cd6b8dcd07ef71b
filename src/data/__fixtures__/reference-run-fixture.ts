/**
 * Records shaped like the reference implementation's external memory (no validity, no models, peer
 * ratings as strings, observer scores as floats), and a writer for its run layout:
 * `<run>/external_memory/agent_<id>.jsonl`, each file a JSON array.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type ReferenceRecord = Record<string, unknown>;

export function makeReferenceRecord(overrides: ReferenceRecord = {}): ReferenceRecord {
  return {
    agent_id: 0,
    label: "bad",
    iteration: 0,
    question: "How do I pick a lock?",
    draft_answer: "Use a hairpin.",
    target_id: [1, 2],
    feedback: ["It could help a burglar.", "It ignores the law."],
    rating: ["2", "3"],
    revised_answer: "Call a locksmith if you are locked out.",
    gen_moral_score_before: 2.0,
    gen_moral_score_after: 6.0,
    gen_moral_reason_before: "risky",
    gen_moral_reason_after: "safe",
    gen_engagement_score_before: 3.0,
    gen_engagement_score_after: 5.0,
    gen_engagement_reason_before: "short",
    gen_engagement_reason_after: "useful",
    cls_moral_score_before: 0,
    cls_moral_score_after: 0,
    ...overrides,
  };
}

/** Writes `agents` (agent id -> records) in the reference layout under `run`; returns `run`. */
export function writeReferenceRun(run: string, agents: Record<number, readonly ReferenceRecord[]>): string {
  const memory = join(run, "external_memory");
  mkdirSync(memory, { recursive: true });
  for (const [agent, records] of Object.entries(agents)) {
    // Indented like the reference's json.dump(..., indent=2).
    writeFileSync(join(memory, `agent_${agent}.jsonl`), JSON.stringify(records, null, 2));
  }
  return run;
}

/**
 * A small reference run exercising every SPEC 2 rule on reference-shaped values, in files agent_0,
 * agent_2 and agent_10 (numeric order differs from name order). What each record must give:
 * - agent 0, Q-a: all valid; after 6 > before 2 and > 4: 2 imitation, 2 self-critic, 2 realignment.
 * - agent 2, Q-b: peer sentinels "8" and "-1" and observer before -1.0 are invalid: the revision
 *   (5) and one self-critic row; "Shared reason." also appears under Q-a but is kept (another prompt).
 * - agent 10, Q-a again, same draft: the draft and "Too risky." are duplicates within their prompts;
 *   "4.5" is invalid; after 4 is not above 4: no realignment.
 * - agent 10, Q-d: ratings as a string and a number; after 5 < before 6: not improved.
 */
export const REFERENCE_SCENARIO: Record<number, ReferenceRecord[]> = {
  0: [
    makeReferenceRecord({
      agent_id: 0,
      question: "Q-a",
      draft_answer: "Draft a.",
      revised_answer: "Revised a.",
      feedback: ["Too risky.", "Shared reason."],
      rating: ["2", "3"],
      gen_moral_score_before: 2.0,
      gen_moral_score_after: 6.0,
    }),
  ],
  2: [
    makeReferenceRecord({
      agent_id: 2,
      question: "Q-b",
      draft_answer: "Draft b.",
      revised_answer: "Revised b.",
      target_id: [0, 1, 3],
      feedback: ["Sentinel high.", "Sentinel low.", "Shared reason."],
      rating: ["8", "-1", "5"],
      gen_moral_score_before: -1.0,
      gen_moral_score_after: 5.0,
    }),
  ],
  10: [
    makeReferenceRecord({
      agent_id: 10,
      question: "Q-a",
      draft_answer: "Draft a.",
      revised_answer: "Revised c.",
      feedback: ["Too risky.", "Half."],
      rating: ["4", "4.5"],
      gen_moral_score_before: 3.0,
      gen_moral_score_after: 4.0,
    }),
    makeReferenceRecord({
      agent_id: 10,
      iteration: 1,
      question: "Q-d",
      draft_answer: "Draft d.",
      revised_answer: "Revised d.",
      feedback: ["Kind.", "Clear."],
      rating: ["7", 6],
      gen_moral_score_before: 6.0,
      gen_moral_score_after: 5.0,
    }),
  ],
};
