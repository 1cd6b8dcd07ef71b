/**
 * Reads preference pairs for likelihood evaluation: HH-RLHF rows `{chosen, rejected}` (two whole
 * dialogues; each final assistant turn is scored after the dialogue before it) or DPO rows
 * `{prompt, chosen, rejected}` (both answers scored after the prompt). JSON Lines or a JSON array,
 * gzip read directly. A malformed row is an InputError naming the file, line and field; a row that
 * is well formed but cannot be scored (identical answers, no final assistant turn) is a counted skip.
 */
import { InputError } from "../spec/errors.js";
import { readJsonValues } from "./json-values-reader.js";
import { hhPreferenceItem, type PreferenceItem } from "./preference-accuracy.js";

/** The pairs of a file and what was left out. */
export interface PreferencePairs {
  items: PreferenceItem[];
  /** Rows read (items plus skipped). */
  rows: number;
  /** Skipped rows per reason. */
  skipped: Record<string, number>;
}

/**
 * Reads the pairs of `path`, at most `limit` rows (default: all). Item ids are `line <n>`. Throws
 * InputError for a row that is not an object or whose `chosen`, `rejected` or `prompt` is not a string.
 */
export async function readPreferencePairs({
  path,
  limit = Number.POSITIVE_INFINITY,
}: {
  path: string;
  limit?: number;
}): Promise<PreferencePairs> {
  const items: PreferenceItem[] = [];
  const skipped: Record<string, number> = {};
  let rows = 0;
  for await (const { value, line } of readJsonValues({ path })) {
    if (rows >= limit) break;
    rows += 1;
    const result = preferenceItemOf({ value, path, line });
    if ("item" in result) items.push(result.item);
    else skipped[result.problem] = (skipped[result.problem] ?? 0) + 1;
  }
  return { items, rows, skipped };
}

function preferenceItemOf({
  value,
  path,
  line,
}: {
  value: unknown;
  path: string;
  line: number;
}): { item: PreferenceItem } | { problem: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError("a pair must be an object with chosen and rejected", { file: path, line });
  }
  const row = value as Record<string, unknown>;
  for (const field of ["chosen", "rejected"] as const) {
    if (typeof row[field] !== "string") {
      throw new InputError(`field "${field}" must be a string`, { file: path, line });
    }
  }
  const chosen = row.chosen as string;
  const rejected = row.rejected as string;
  const id = `line ${line}`;
  if (row.prompt === undefined) return hhPreferenceItem({ id, chosen, rejected });
  if (typeof row.prompt !== "string") throw new InputError('field "prompt" must be a string', { file: path, line });
  if (chosen === rejected) return { problem: "chosen and rejected are identical" };
  if (chosen.trim() === "" || rejected.trim() === "") return { problem: "an answer is empty" };
  const context = row.prompt;
  return {
    item: { id, chosen: { context, continuation: chosen }, rejected: { context, continuation: rejected } },
  };
}
