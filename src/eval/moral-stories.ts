/**
 * Moral Stories (Emelin et al., MIT), two layouts (EVAL.md):
 * - the full data (`moral_stories_full.jsonl`): context = norm + " " + situation + " " + intention,
 *   each capitalised as Python's `str.capitalize` does (first character upper case, the rest lower
 *   case, as the harness's template applies it), choices [moral_action, immoral_action], gold 0;
 * - the `action+norm` classification files (one action per row with its norm and a label): the two
 *   rows of a story (same ID but the last character) are paired, context `Norm: {norm}\nAction:`
 *   (our context: no harness task exists), choices [moral_action, immoral_action], gold 0.
 * A file of either kind is recognised by its first row.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readJsonValues } from "../data/json-values-reader.js";
import { InputError } from "../spec/errors.js";
import type { ChoiceItem } from "./benchmark-item.js";

/** The full data's file name inside a Moral Stories folder. */
export const MORAL_STORIES_FULL_FILE = "moral_stories_full.jsonl";

/** Python's `str.capitalize`: the first character in upper case, the rest in lower case. */
export function capitalize(text: string): string {
  const [first = "", ...rest] = [...text];
  return first.toUpperCase() + rest.join("").toLowerCase();
}

/** The items of a Moral Stories file (or of `moral_stories_full.jsonl` inside a folder). */
export async function readMoralStories({ path }: { path: string }): Promise<ChoiceItem[]> {
  const file = (await isDirectory(path)) ? join(path, MORAL_STORIES_FULL_FILE) : path;
  const rows: { record: Record<string, unknown>; line: number }[] = [];
  for await (const { value, line } of readJsonValues({ path: file })) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new InputError("expected a JSON object", { file, line });
    }
    rows.push({ record: value as Record<string, unknown>, line });
  }
  if (rows.length === 0) throw new InputError("no stories in the file", { file });
  return "situation" in (rows[0] as { record: Record<string, unknown> }).record
    ? rows.map(({ record, line }) => fullStoryItem(record, file, line))
    : pairClassificationRows(rows, file);
}

function text(record: Record<string, unknown>, field: string, file: string, line: number): string {
  const value = record[field];
  if (typeof value !== "string" || value === "") {
    throw new InputError(`missing field "${field}" (a non-empty string)`, { file, line });
  }
  return value;
}

function fullStoryItem(record: Record<string, unknown>, file: string, line: number): ChoiceItem {
  const context = ["norm", "situation", "intention"].map((field) => capitalize(text(record, field, file, line)));
  return {
    id: typeof record.ID === "string" ? record.ID : `line-${line}`,
    subset: "",
    context: context.join(" "),
    choices: [text(record, "moral_action", file, line), text(record, "immoral_action", file, line)],
    gold: 0,
  };
}

function pairClassificationRows(rows: { record: Record<string, unknown>; line: number }[], file: string): ChoiceItem[] {
  const stories = new Map<string, { norm: string; moral?: string; immoral?: string; line: number }>();
  for (const { record, line } of rows) {
    const id = text(record, "ID", file, line);
    const label = record.label;
    if (label !== "1" && label !== "0") {
      throw new InputError(`field "label" is ${JSON.stringify(label)}, expected "1" or "0"`, { file, line });
    }
    const story = id.slice(0, -1);
    const entry = stories.get(story) ?? { norm: text(record, "norm", file, line), line };
    if (label === "1") entry.moral = text(record, "moral_action", file, line);
    else entry.immoral = text(record, "immoral_action", file, line);
    stories.set(story, entry);
  }
  const items: ChoiceItem[] = [];
  for (const [story, entry] of stories) {
    if (entry.moral === undefined || entry.immoral === undefined) {
      const missing = entry.moral === undefined ? "moral_action" : "immoral_action";
      throw new InputError(`story ${story} has no row with "${missing}" (each story needs both rows)`, {
        file,
        line: entry.line,
      });
    }
    items.push({
      id: story,
      subset: "",
      context: `Norm: ${entry.norm}\nAction:`,
      choices: [entry.moral, entry.immoral],
      gold: 0,
    });
  }
  return items;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (cause) {
    throw new InputError(`cannot read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, {
      file: path,
      cause,
    });
  }
}
