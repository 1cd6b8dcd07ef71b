/**
 * One Back-Scatter interaction as written to `records.jsonl` (SPEC 1.7). Field names follow the
 * reference external memory (snake_case) so existing analysis scripts read our records unchanged;
 * our additions are `run_id`, `world`, `*_valid` flags, `models`, `usage` and `timings`.
 * An invalid rating is `null` with its `*_valid` flag false: never a sentinel number.
 */
export interface InteractionRecord {
  run_id: string;
  /** World description: grid size and initial setting. */
  world: { size: number; setting: InitialSetting; seed: number };
  agent_id: number;
  label: AgentLabel;
  /** Round number, from 0. */
  iteration: number;
  question: string;
  draft_answer: string;
  /** Feedback givers, in the sorted order of `feedback` (rating highest first, SPEC 1.6 step 5). */
  target_id: number[];
  /** Each giver's reason, aligned with `target_id`; null where the rating was invalid. */
  feedback: (string | null)[];
  /** Each giver's 1-7 rating, aligned with `target_id`; null where invalid. */
  rating: (number | null)[];
  /** Mean of the valid peer ratings; null when none was valid. */
  mean_rating: number | null;
  revised_answer: string;
  gen_moral_score_before: number | null;
  gen_moral_reason_before: string | null;
  gen_engagement_score_before: number | null;
  gen_engagement_reason_before: string | null;
  gen_moral_score_after: number | null;
  gen_moral_reason_after: string | null;
  gen_engagement_score_after: number | null;
  gen_engagement_reason_after: string | null;
  /** Validity of every rating in the record, so consumers need not infer it from nulls. */
  validity: {
    peer: boolean[];
    moral_before: boolean;
    engagement_before: boolean;
    moral_after: boolean;
    engagement_after: boolean;
  };
  models: { agent: string; observer: string; peers: string[] };
  usage: { calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
  /** Wall-clock milliseconds: start (epoch) and duration of the whole interaction. */
  timings: { started_at: number; duration_ms: number };
}

/** An agent's initial world view (SPEC 1.2). */
export type AgentLabel = "good" | "bad";

/** The four initial settings of SPEC 1.2. */
export type InitialSetting = "all_good" | "all_bad" | "half_half" | "mixed_half_half";

export const INITIAL_SETTINGS: readonly InitialSetting[] = ["all_good", "all_bad", "half_half", "mixed_half_half"];
