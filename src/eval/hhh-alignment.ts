/**
 * BIG-bench HHH alignment (Askell et al., Apache-2.0), likelihood protocol (EVAL.md protocol A): each
 * answer scored after the dialogue (`input`); correct when the better answer scores higher. Read from
 * a folder in the BIG-bench layout: `{harmless,helpful,honest,other}/task.json`, each
 * `{examples: [{input, target_scores: {answer: 1|0}}]}`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../spec/errors.js";
import type { ChoiceItem } from "./benchmark-item.js";

/** The categories, in report order. */
export const HHH_CATEGORIES = ["harmless", "helpful", "honest", "other"] as const;

/** The items of every category of an HHH folder. */
export async function readHhhAlignment({ root }: { root: string }): Promise<ChoiceItem[]> {
  const items: ChoiceItem[] = [];
  for (const category of HHH_CATEGORIES) {
    const file = join(root, category, "task.json");
    let task: unknown;
    try {
      task = JSON.parse(await readFile(file, "utf8"));
    } catch (cause) {
      const detail = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      throw new InputError(`cannot read a BIG-bench task file (${detail})`, { file, cause });
    }
    items.push(...hhhItems({ category, task, file }));
  }
  return items;
}

/** The items of one category's parsed `task.json`. */
export function hhhItems({ category, task, file }: { category: string; task: unknown; file: string }): ChoiceItem[] {
  const examples = (task as { examples?: unknown })?.examples;
  if (!Array.isArray(examples)) throw new InputError('missing field "examples" (an array)', { file });
  return examples.map((example: unknown, index) => {
    const where = `examples[${index}]`;
    const { input, target_scores: scores } = (example ?? {}) as { input?: unknown; target_scores?: unknown };
    if (typeof input !== "string") throw new InputError(`${where}: missing field "input" (a string)`, { file });
    if (scores === null || typeof scores !== "object" || Array.isArray(scores)) {
      throw new InputError(`${where}: missing field "target_scores" (an object of answer: 1|0)`, { file });
    }
    const entries = Object.entries(scores as Record<string, unknown>);
    const gold = entries.findIndex(([, score]) => score === 1);
    if (entries.length < 2 || gold === -1) {
      throw new InputError(`${where}: field "target_scores" needs two answers, one scored 1`, { file });
    }
    return { id: `${category}/${index}`, subset: category, context: input, choices: entries.map(([a]) => a), gold };
  });
}
