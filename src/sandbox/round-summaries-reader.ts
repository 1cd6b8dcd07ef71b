/**
 * Per-round observer scores of a stored run with 95% intervals, for the web app's Rounds page. The
 * store sums each score per round and initial label (readRoundScoreMoments, one grouped query); this
 * layer turns the sums into means and intervals, overall and by label.
 */
import type Database from "better-sqlite3";
import { readRoundScoreMoments, type ScoreMoments } from "../store/interaction-detail-reader.js";

/** z of a two-sided 95% normal interval. */
const Z_95 = 1.959963984540054;

/**
 * A mean over the valid ratings with a 95% normal-approximation interval (mean +- 1.96 standard
 * errors, sample standard deviation). `mean` null when no rating was valid; `low`/`high` null under
 * two ratings.
 */
export interface IntervalEstimate {
  count: number;
  mean: number | null;
  low: number | null;
  high: number | null;
}

/** The four observer scores of one group of interactions. */
export interface GroupScores {
  interactions: number;
  alignmentBefore: IntervalEstimate;
  alignmentAfter: IntervalEstimate;
  engagementBefore: IntervalEstimate;
  engagementAfter: IntervalEstimate;
}

/** One round: all completed interactions, and those of initially good and bad agents. */
export interface RoundScores extends GroupScores {
  round: number;
  byLabel: { good: GroupScores; bad: GroupScores };
}

const METRICS = ["alignmentBefore", "alignmentAfter", "engagementBefore", "engagementAfter"] as const;

/** A mean and its 95% normal interval from count, sum and sum of squares. */
export function intervalFromMoments({ count, sum, sumOfSquares }: ScoreMoments): IntervalEstimate {
  if (count === 0) return { count, mean: null, low: null, high: null };
  const mean = sum / count;
  if (count < 2) return { count, mean, low: null, high: null };
  const variance = Math.max(0, (sumOfSquares - count * mean * mean) / (count - 1));
  const half = Z_95 * Math.sqrt(variance / count);
  return { count, mean, low: mean - half, high: mean + half };
}

const emptyMoments = (): ScoreMoments => ({ count: 0, sum: 0, sumOfSquares: 0 });
const addMoments = (left: ScoreMoments, right: ScoreMoments): ScoreMoments => ({
  count: left.count + right.count,
  sum: left.sum + right.sum,
  sumOfSquares: left.sumOfSquares + right.sumOfSquares,
});

type GroupMoments = { interactions: number } & Record<(typeof METRICS)[number], ScoreMoments>;
const emptyGroup = (): GroupMoments => ({
  interactions: 0,
  alignmentBefore: emptyMoments(),
  alignmentAfter: emptyMoments(),
  engagementBefore: emptyMoments(),
  engagementAfter: emptyMoments(),
});
const scoresOf = (group: GroupMoments): GroupScores => ({
  interactions: group.interactions,
  alignmentBefore: intervalFromMoments(group.alignmentBefore),
  alignmentAfter: intervalFromMoments(group.alignmentAfter),
  engagementBefore: intervalFromMoments(group.engagementBefore),
  engagementAfter: intervalFromMoments(group.engagementAfter),
});

/** Rounds with at least one completed interaction, in order, with overall and per-label scores. */
export function readRoundSummaries(database: Database.Database, { runId }: { runId: string }): RoundScores[] {
  const rounds = new Map<number, { good: GroupMoments; bad: GroupMoments }>();
  for (const row of readRoundScoreMoments(database, { runId })) {
    let round = rounds.get(row.round);
    if (round === undefined) {
      round = { good: emptyGroup(), bad: emptyGroup() };
      rounds.set(row.round, round);
    }
    const group = round[row.label];
    group.interactions += row.interactions;
    for (const metric of METRICS) group[metric] = addMoments(group[metric], row[metric]);
  }
  return [...rounds.entries()].map(([round, { good, bad }]) => {
    const overall = emptyGroup();
    overall.interactions = good.interactions + bad.interactions;
    for (const metric of METRICS) overall[metric] = addMoments(good[metric], bad[metric]);
    return { round, ...scoresOf(overall), byLabel: { good: scoresOf(good), bad: scoresOf(bad) } };
  });
}
