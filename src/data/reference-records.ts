/**
 * The reference implementation's own SANDBOX output, read as interaction records. Its layout is one
 * `external_memory/agent_<id>.jsonl` file per agent, each a JSON array (not JSON Lines, despite the
 * name). Its records have our field names (src/spec/interaction-record.ts) but no `validity` and no
 * `models`; peer ratings are strings ("3") and observer scores floats (6.0), with 8 and -1 written
 * where a rating could not be read. Validity is therefore taken from the values themselves.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The folder of a reference run that holds the per-agent files. */
export const REFERENCE_MEMORY_FOLDER = "external_memory";

/** The model name given to responses whose record names none. */
export const UNKNOWN_MODEL = "unknown";

/** `models` for a record that names none: every model unknown. */
export const UNKNOWN_MODELS = { agent: UNKNOWN_MODEL, observer: UNKNOWN_MODEL, peers: [UNKNOWN_MODEL] } as const;

const AGENT_FILE = /^agent_(\d+)\.jsonl?$/;

/**
 * The per-agent files of a reference run: `<folder>/external_memory/agent_<id>.jsonl`, or
 * `<folder>/agent_<id>.jsonl` when given the external_memory folder itself, in agent id order.
 * Empty when the folder has neither.
 */
export function referenceMemoryFiles(folder: string): string[] {
  for (const directory of [join(folder, REFERENCE_MEMORY_FOLDER), folder]) {
    if (!existsSync(directory) || !statSync(directory).isDirectory()) continue;
    const files = readdirSync(directory)
      .map((name) => ({ name, match: AGENT_FILE.exec(name) }))
      .filter((entry) => entry.match !== null)
      .sort((left, right) => Number(left.match?.[1]) - Number(right.match?.[1]))
      .map((entry) => join(directory, entry.name));
    if (files.length > 0) return files;
  }
  return [];
}

/**
 * A 1-7 rating from a value as the reference writes it: a number or a numeric string ("3", "6.0")
 * holding a whole number on the scale. Anything else (8, -1, "", "N/A", 4.5) is no rating: null.
 */
export function ratingFromValue(value: unknown): number | null {
  const number =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(number) || number < 1 || number > 7) return null;
  return number;
}

const OBSERVER_SCORES = [
  ["moral_before", "gen_moral_score_before"],
  ["engagement_before", "gen_engagement_score_before"],
  ["moral_after", "gen_moral_score_after"],
  ["engagement_after", "gen_engagement_score_after"],
] as const;

/**
 * The fields a record without `validity` gets from its values: `rating` as numbers (null where
 * invalid), each observer score present as a number or null, `validity` from those, and
 * `mean_rating` over the valid peer ratings when the record has none. `rating` must be an array;
 * absent scores stay absent (and are flagged invalid) so the record check can name them.
 */
export function validityFromValues(record: Record<string, unknown>): Record<string, unknown> {
  const ratings = (record.rating as unknown[]).map(ratingFromValue);
  const fields: Record<string, unknown> = {};
  const flags: Record<string, boolean> = {};
  for (const [flag, field] of OBSERVER_SCORES) {
    const score = field in record ? ratingFromValue(record[field]) : null;
    if (field in record) fields[field] = score;
    flags[flag] = score !== null;
  }
  const valid = ratings.filter((rating): rating is number => rating !== null);
  if (record.mean_rating === undefined) {
    fields.mean_rating = valid.length === 0 ? null : valid.reduce((sum, rating) => sum + rating, 0) / valid.length;
  }
  return { ...fields, rating: ratings, validity: { peer: ratings.map((rating) => rating !== null), ...flags } };
}
