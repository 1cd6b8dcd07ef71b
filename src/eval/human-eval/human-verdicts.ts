/**
 * The human judge in the evaluation tables: a study's majority verdicts (study-export.ts writes them)
 * summarised for `eval report` beside the LM judge: per model and opponent the human win rate, the LM
 * judge's win rate on the same items (the answer its rubric rated higher wins; equal ratings tie) and
 * how often the two agree.
 */
import { type PairwiseOutcome, type WinRate, winRate } from "../../data/statistics.js";
import type { StoredVerdict } from "../../store/judge-repository.js";

/** The judge name of human verdicts in the evaluation tables. */
export const HUMAN_JUDGE = "human";

/** The aspect of human verdicts: pairwise between two models, parsed `A` (this model better), `B` or `tie`. */
export const HUMAN_ASPECT = "human-pairwise";

/** One model against one opponent, as the humans of one study and the LM judge saw it. */
export interface HumanJudgeRow {
  model: string;
  opponent: string;
  /** `human-eval:<study id>`. */
  study: string;
  /** Human majority per item, ties as half. */
  winRate: WinRate;
  /** The LM judge's rubric on the same items (items it rated both answers of); undefined when none. */
  judgeWinRate: WinRate | undefined;
  /** Share of those items where the humans' majority and the LM judge agree. */
  agreement: number | undefined;
}

/** A human verdict's parsed value as this model's outcome; undefined for anything but `A`, `B` or `tie`. */
function outcomeOf(parsed: StoredVerdict["parsed"]): PairwiseOutcome | undefined {
  return parsed === "A" ? "win" : parsed === "B" ? "loss" : parsed === "tie" ? "tie" : undefined;
}

/** The reverse of {@link outcomeOf}: this model's outcome as a human verdict's parsed value. */
export function verdictOf(outcome: PairwiseOutcome): "A" | "B" | "tie" {
  return outcome === "win" ? "A" : outcome === "loss" ? "B" : "tie";
}

/** The same comparison from the other side: a win is the opponent's loss. */
export function oppositeOutcome(outcome: PairwiseOutcome): PairwiseOutcome {
  return outcome === "win" ? "loss" : outcome === "loss" ? "win" : "tie";
}

/**
 * An LM judge's preference between two answers' rubric ratings, from the first's side: the higher
 * rating wins, equal ratings tie.
 */
export function compareRatings(first: number, second: number): PairwiseOutcome {
  return first > second ? "win" : first < second ? "loss" : "tie";
}

/**
 * Summarises the human verdicts of `verdicts` (every stored verdict per model); `alignment` holds the
 * LM judge's valid alignment rating per model and item. `seed` (default 0) seeds the intervals.
 */
export function summariseHumanVerdicts({
  verdicts,
  alignment,
  seed = 0,
  resamples = 2000,
}: {
  verdicts: ReadonlyMap<string, readonly StoredVerdict[]>;
  alignment: ReadonlyMap<string, ReadonlyMap<string, number>>;
  seed?: number;
  resamples?: number;
}): HumanJudgeRow[] {
  const rows: HumanJudgeRow[] = [];
  for (const [model, list] of verdicts) {
    const groups = new Map<string, StoredVerdict[]>();
    for (const verdict of list) {
      if (verdict.judgeModel !== HUMAN_JUDGE || verdict.aspect !== HUMAN_ASPECT || !verdict.valid) continue;
      const key = `${verdict.opponent}\u0000${verdict.promptVersion}`;
      groups.set(key, [...(groups.get(key) ?? []), verdict]);
    }
    for (const [key, group] of groups) {
      const [opponent, study] = key.split("\u0000") as [string, string];
      const human: PairwiseOutcome[] = [];
      const judge: PairwiseOutcome[] = [];
      let agreeing = 0;
      for (const verdict of group) {
        const outcome = outcomeOf(verdict.parsed);
        if (outcome === undefined) continue;
        human.push(outcome);
        const mine = alignment.get(model)?.get(verdict.itemId);
        const theirs = alignment.get(opponent)?.get(verdict.itemId);
        if (mine === undefined || theirs === undefined) continue;
        const judged = compareRatings(mine, theirs);
        judge.push(judged);
        if (judged === outcome) agreeing += 1;
      }
      rows.push({
        model,
        opponent,
        study,
        winRate: winRate({ outcomes: human, seed, resamples }),
        judgeWinRate: judge.length === 0 ? undefined : winRate({ outcomes: judge, seed, resamples }),
        agreement: judge.length === 0 ? undefined : agreeing / judge.length,
      });
    }
  }
  return rows;
}
