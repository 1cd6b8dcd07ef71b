/**
 * What a benchmark hands the scorer: multiple-choice items scored by likelihood (EVAL.md: each
 * choice's summed log-probability as the continuation `" " + choice` of the context), and the
 * preference pairs of the HH benchmarks. Items are plain JSON so a run stores them and a report
 * recomputes every number from the stored items and scores alone.
 */
import type { PreferenceItem } from "../data/preference-accuracy.js";

/** The delimiter between a context and each choice (EVAL.md: a space; empty with a chat template). */
export const TARGET_DELIMITER = " ";

/** One multiple-choice item. */
export interface ChoiceItem {
  /** Stable id naming the source: `<subset>/<line>` or the dataset's own id. */
  id: string;
  /** Part of the benchmark the item belongs to (an ETHICS subset, `mc1`/`mc2`, an HHH category); `""` when none. */
  subset: string;
  /** The text every choice is scored after. */
  context: string;
  /** Choices as listed (without the delimiter). */
  choices: string[];
  /** Index of the correct choice (for MC2, the first true answer). */
  gold: number;
  /** MC2 only: 1 for each true choice, 0 for each false one, in choice order. */
  labels?: number[];
  /** Group id for group accuracy (ETHICS justice, deontology, virtue): all of a group must be right. */
  group?: string;
}

/** An item of any benchmark: a multiple-choice item or a preference pair. */
export type BenchmarkItem = { kind: "choice"; item: ChoiceItem } | { kind: "preference"; item: PreferenceItem };

/** The continuation scored for a choice. */
export function continuationOf(choice: string): string {
  return `${TARGET_DELIMITER}${choice}`;
}

/** Number of characters (Unicode code points, as Python's `len`) of a choice, the acc_norm divisor. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
