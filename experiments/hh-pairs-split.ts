/**
 * The hh-pairs experiment's data: HH-RLHF chosen/rejected pairs split by dialogue into a training side
 * (alignment rows, chosen scored 7 and rejected 1) and a held-out side (preference items, and the raw
 * pairs for later evaluations). The split key is the dialogue's first human turn, so a question asked
 * twice in the file never lands on both sides.
 */

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { hhPairToExample, splitTranscript } from "../src/data/hh-rlhf.js";
import { hhPreferenceItem, type PreferenceItem } from "../src/data/preference-accuracy.js";
import type { AlignmentExample } from "../src/spec/alignment-data.js";
import { InputError } from "../src/spec/errors.js";
import { sourceDraw } from "../src/train/training-examples.js";

/** One chosen/rejected pair as the file holds it, with its 1-based line. */
export interface HhPair {
  line: number;
  chosen: string;
  rejected: string;
}

/** The two sides of the split. */
export interface HhPairsSplit {
  /** Pairs whose dialogue trains (tokenizer, base model, every method). */
  trainPairs: HhPair[];
  /** Pairs whose dialogue is held out. */
  heldOutPairs: HhPair[];
  /** Training rows: the shared transcript as the query, both differing answers with scores 7 and 1. */
  trainRows: AlignmentExample[];
  /** Held-out preference items (id `line-<n>`). */
  heldOutItems: PreferenceItem[];
  /** Pairs that gave no row or item, by side and reason. */
  skipped: Record<string, number>;
  /** Distinct dialogues (first human turns) on each side. */
  dialogues: { train: number; heldOut: number };
}

/** Reads a gzipped (or plain) JSON Lines file of `{chosen, rejected}`; throws InputError naming the line. */
export function readHhPairs({ path }: { path: string }): HhPair[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InputError(`cannot read the pairs file: ${(error as Error).message}`, { file: path, cause: error });
  }
  const text = (path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
  const pairs: HhPair[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    if (raw.trim() === "") continue;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InputError("not valid JSON", { file: path, line });
    }
    const { chosen, rejected } = (value ?? {}) as { chosen?: unknown; rejected?: unknown };
    if (typeof chosen !== "string") throw new InputError('field "chosen" must be a string', { file: path, line });
    if (typeof rejected !== "string") throw new InputError('field "rejected" must be a string', { file: path, line });
    pairs.push({ line, chosen, rejected });
  }
  return pairs;
}

/** The dialogue a pair belongs to: its first human turn (the whole transcript when it has none). */
export function dialogueKey(pair: Pick<HhPair, "chosen">): string {
  const first = splitTranscript(pair.chosen)[0];
  return first?.role === "human" ? first.text : pair.chosen;
}

/**
 * Splits pairs by dialogue: a dialogue is held out when its seeded draw (the trainer's `sourceDraw`)
 * falls below `heldOutShare`.
 */
export function splitHhPairs({
  pairs,
  heldOutShare,
  seed,
  chosenScore = 7,
  rejectedScore = 1,
}: {
  pairs: readonly HhPair[];
  /** Share of dialogues held out, in (0, 1). */
  heldOutShare: number;
  seed: number;
  /** Default 7. */
  chosenScore?: number;
  /** Default 1. */
  rejectedScore?: number;
}): HhPairsSplit {
  const split: HhPairsSplit = {
    trainPairs: [],
    heldOutPairs: [],
    trainRows: [],
    heldOutItems: [],
    skipped: {},
    dialogues: { train: 0, heldOut: 0 },
  };
  const skip = (reason: string) => {
    split.skipped[reason] = (split.skipped[reason] ?? 0) + 1;
  };
  const trainKeys = new Set<string>();
  const heldOutKeys = new Set<string>();
  for (const pair of pairs) {
    const key = dialogueKey(pair);
    if (sourceDraw({ seed, sourceId: key }) < heldOutShare) {
      heldOutKeys.add(key);
      split.heldOutPairs.push(pair);
      const result = hhPreferenceItem({ id: `line-${pair.line}`, chosen: pair.chosen, rejected: pair.rejected });
      if ("problem" in result) skip(`held out: ${result.problem}`);
      else split.heldOutItems.push(result.item);
      continue;
    }
    trainKeys.add(key);
    split.trainPairs.push(pair);
    const result = hhPairToExample(pair, { chosenScore, rejectedScore });
    if ("skip" in result) {
      skip(`train: ${result.skip}`);
      continue;
    }
    // Rows exactly as `data import --format hh-rlhf` writes them: each answer without the space after
    // "Assistant:", which the trainer's verbatim format puts back (formatPrompt).
    split.trainRows.push(result.example);
  }
  split.dialogues = { train: trainKeys.size, heldOut: heldOutKeys.size };
  return split;
}
