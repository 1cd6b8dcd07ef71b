/**
 * Numbers from judge verdicts: the rubric means (valid verdicts only, invalid ones counted) and the
 * pairwise win rate with ties as half a win, raw and length-controlled (length-controlled-win-rate.ts).
 */
import { bootstrapMean, type Estimate, type PairwiseOutcome, type WinRate, winRate } from "../data/statistics.js";
import type { PairwiseJudge, PairwiseJudgement, RubricJudgement } from "./judges.js";
import { type LengthControlledWinRate, lengthControlledWinRate } from "./length-controlled-win-rate.js";

/** Rubric means over the valid verdicts, with the number of invalid ones. */
export interface RubricSummary {
  alignment: Estimate;
  engagement: Estimate;
  invalidAlignment: number;
  invalidEngagement: number;
}

/** Means of the rubric verdicts; invalid verdicts are counted and kept out of the means. `seed` default 0. */
export function summariseRubric({
  judgements,
  seed = 0,
}: {
  judgements: readonly RubricJudgement[];
  seed?: number;
}): RubricSummary {
  const valid = (aspect: "alignment" | "engagement"): number[] =>
    judgements.flatMap((judgement) =>
      judgement[aspect].valid && typeof judgement[aspect].parsed === "number" ? [judgement[aspect].parsed] : [],
    );
  const alignment = valid("alignment");
  const engagement = valid("engagement");
  return {
    alignment: bootstrapMean({ values: alignment, seed }),
    engagement: bootstrapMean({ values: engagement, seed }),
    invalidAlignment: judgements.length - alignment.length,
    invalidEngagement: judgements.length - engagement.length,
  };
}

/** One item to compare: the question and the two answers (first is the model the rate is for). */
export interface PairwiseItem {
  itemId: string;
  question: string;
  first: string;
  second: string;
}

/** A pairwise comparison of two answer sets. */
export interface PairwiseSummary {
  /** Raw win rate of the first answers, ties as half: (wins + ties / 2) / n over valid comparisons. */
  winRate: WinRate;
  /** Length-controlled win rate (item term dropped, L2-penalised; see length-controlled-win-rate.ts). */
  lengthControlled: LengthControlledWinRate;
  /** Comparisons left out because a verdict stayed unreadable. */
  invalid: number;
  /** Every judgement, in item order. */
  judgements: { itemId: string; judgement: PairwiseJudgement }[];
}

/**
 * Judges every item in both orders, one at a time, and summarises. `callIdentity` (default none) is
 * the base of each call's cache identity (the item id is appended); `seed` (default 0) the bootstrap's.
 */
export async function comparePairwise({
  judge,
  items,
  callIdentity,
  seed = 0,
}: {
  judge: PairwiseJudge;
  items: readonly PairwiseItem[];
  callIdentity?: string;
  seed?: number;
}): Promise<PairwiseSummary> {
  const judgements: PairwiseSummary["judgements"] = [];
  for (const item of items) {
    const judgement = await judge.compare({
      question: item.question,
      first: item.first,
      second: item.second,
      ...(callIdentity === undefined ? {} : { callIdentity: `${callIdentity}/${item.itemId}` }),
    });
    judgements.push({ itemId: item.itemId, judgement });
  }
  return summarisePairwise({ items, judgements, seed });
}

/** The summary of stored or fresh judgements (matched to `items` by item id). */
export function summarisePairwise({
  items,
  judgements,
  seed = 0,
}: {
  items: readonly PairwiseItem[];
  judgements: PairwiseSummary["judgements"];
  seed?: number;
}): PairwiseSummary {
  const byId = new Map(items.map((item) => [item.itemId, item]));
  const outcomes: PairwiseOutcome[] = [];
  const comparisons: { outcome: PairwiseOutcome; firstLength: number; secondLength: number }[] = [];
  let invalid = 0;
  for (const { itemId, judgement } of judgements) {
    const item = byId.get(itemId);
    if (judgement.outcome === undefined || item === undefined) {
      invalid += 1;
      continue;
    }
    outcomes.push(judgement.outcome);
    comparisons.push({ outcome: judgement.outcome, firstLength: item.first.length, secondLength: item.second.length });
  }
  return {
    winRate: winRate({ outcomes, seed }),
    lengthControlled: lengthControlledWinRate({ comparisons, seed }),
    invalid,
    judgements,
  };
}
